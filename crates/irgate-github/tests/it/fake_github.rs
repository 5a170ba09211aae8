//! A fake GitHub REST API on 127.0.0.1 for the client tests (and the `irgate github`
//! tests of the binary crate, which include this file).
//!
//! Every request is matched against `fixtures/openapi-subset.json` (GitHub's
//! own description): method and path template, path-parameter types, known
//! query parameters and their enums, and the JSON body against the operation's
//! request schema (`required`, `enum`, `maxLength`, `maxItems`, `anyOf`,
//! unknown properties). A mismatch is recorded in `violations` and answered
//! with 422, so a test that forgets to look still fails. Answers are built
//! from the description's example responses, with the fields the client reads
//! (ids, bodies, logins, shas) filled in from the fake's state.
//!
//! (Over 600 lines: one fake server with its contract check, shared by every test of
//! the bot.)
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The contract: GitHub's description of the operations the bot may use.
pub fn contract() -> Value {
    let text = include_str!("../fixtures/openapi-subset.json");
    serde_json::from_str(text).unwrap()
}

/// A real webhook payload from the fixtures.
pub fn webhook(name: &str) -> Value {
    // Through the bot crate's own directory, so that the path also holds when the
    // binary crate's tests (`crates/irgate/tests/github.rs`) include this file.
    let path = format!(
        "{}/../irgate-github/tests/fixtures/webhooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Operation id from the contract (`issues/create-comment`).
    pub op: String,
    /// Method.
    pub method: Method,
    /// Path without query.
    pub path: String,
    /// Query string.
    pub query: String,
    /// JSON body (Null when none).
    pub body: Value,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// An injected fault for the next request to an operation.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status, headers and JSON body; do nothing.
    Status(u16, Vec<(&'static str, String)>, Value),
    /// Carry the request out, then answer with this status anyway (a lost answer).
    AfterApply(u16),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Answer with this status and JSON body, and move the pull request's head
    /// to this commit (someone pushed while the request was on its way).
    StatusAndPush(u16, Value, String),
}

/// A stored comment.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Id.
    pub id: u64,
    /// Author login.
    pub login: String,
    /// Body.
    pub body: String,
}

/// A stored check run.
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// Id.
    pub id: u64,
    /// Commit.
    pub head_sha: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Conclusion.
    pub conclusion: Option<String>,
    /// Latest output (without annotations).
    pub output: Value,
    /// All annotations sent, in order.
    pub annotations: Vec<Value>,
    /// Latest actions.
    pub actions: Value,
    /// external_id.
    pub external_id: Option<String>,
}

/// A workflow artifact the fake serves.
#[derive(Debug, Clone)]
pub struct FakeArtifact {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// The commit its workflow run checked out.
    pub head_sha: String,
    /// The zip.
    pub zip: Vec<u8>,
    /// Past retention (listed, but the download answers 410).
    pub expired: bool,
}

/// The fake's state; tests read and seed it.
#[derive(Debug, Default)]
pub struct State {
    /// Comments on the one pull request the fake knows, oldest first.
    pub comments: Vec<Comment>,
    /// Check runs.
    pub check_runs: Vec<CheckRun>,
    /// Commit statuses posted (request bodies, with `sha`).
    pub statuses: Vec<Value>,
    /// Comments on commits: (commit sha, body).
    pub commit_comments: Vec<(String, String)>,
    /// Reactions: (comment id, content).
    pub reactions: Vec<(u64, String)>,
    /// Collaborator roles by login (`admin`, `maintain`, `write`, `triage`,
    /// `read`; missing: 404).
    pub permissions: HashMap<String, String>,
    /// Repository files on the PR branch: path → (content, blob sha).
    pub files: HashMap<String, (Vec<u8>, String)>,
    /// File writes: (path, branch, message).
    pub commits: Vec<(String, String, String)>,
    /// The pull request's head sha.
    pub head_sha: String,
    /// The pull request's head branch.
    pub head_ref: String,
    /// The head repository's full name.
    pub head_repo: String,
    /// Workflow artifacts, oldest first.
    pub artifacts: Vec<FakeArtifact>,
    /// The `Authorization` header of each download from the artifact storage
    /// the fake redirects to (`None`: there was none, as must be).
    pub storage_auth: Vec<Option<String>>,
    /// The fake's own root URL (for redirects to its storage).
    pub url: String,
    /// Every request, in order.
    pub seen: Vec<Seen>,
    /// Contract violations.
    pub violations: Vec<String>,
    /// Faults by operation id, consumed in order.
    pub faults: HashMap<String, VecDeque<Fault>>,
    /// Answer check-run endpoints with 403 (a token that cannot create them).
    pub deny_checks: bool,
    /// Requests to list comments wait here until this many have arrived (once).
    pub list_barrier: Option<Arc<tokio::sync::Barrier>>,
    next_id: u64,
    blob_counter: u64,
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds a comment by `login`.
    pub fn add_comment(&mut self, login: &str, body: &str) -> u64 {
        let id = self.next_id();
        self.comments.push(Comment {
            id,
            login: login.into(),
            body: body.into(),
        });
        id
    }

    /// Queues a fault for `op`.
    pub fn fault(&mut self, op: &str, fault: Fault) {
        self.faults
            .entry(op.to_string())
            .or_default()
            .push_back(fault);
    }

    /// Adds an artifact uploaded by a run on `head_sha`; returns its id.
    pub fn add_artifact(&mut self, name: &str, head_sha: &str, zip: Vec<u8>) -> u64 {
        let id = self.next_id();
        self.artifacts.push(FakeArtifact {
            id,
            name: name.into(),
            head_sha: head_sha.into(),
            zip,
            expired: false,
        });
        id
    }

    /// Requests made to `op`.
    pub fn count(&self, op: &str) -> usize {
        self.seen.iter().filter(|s| s.op == op).count()
    }
}

/// A running fake GitHub.
pub struct FakeGithub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Shared state.
    pub state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGithub {
    /// Starts the fake on an ephemeral loopback port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            head_sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821".into(),
            head_ref: "changes".into(),
            head_repo: "Codertocat/Hello-World".into(),
            next_id: 1000,
            ..State::default()
        }));
        let ops = Arc::new(contract()["operations"].as_object().unwrap().clone());
        let st = state.clone();
        let app = axum::Router::new()
            .fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let st = st.clone();
                    let ops = ops.clone();
                    async move { handle(st, ops, method, uri, headers, body).await }
                },
            )
            // GitHub takes files up to 100 MB through its APIs; axum's default
            // limit (2 MB) would refuse a large baseline file GitHub accepts.
            .layer(axum::extract::DefaultBodyLimit::max(100 * 1024 * 1024));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        state.lock().unwrap().url = format!("http://{addr}");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Locks the state.
    pub fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Panics with the list of violations, if any.
    pub fn assert_contract(&self) {
        let st = self.st();
        assert!(
            st.violations.is_empty(),
            "contract violations: {:#?}",
            st.violations
        );
        assert!(!st.seen.is_empty(), "no requests reached the fake");
    }
}

fn match_template(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut params = HashMap::new();
    for (i, seg) in t.iter().enumerate() {
        let last = i == t.len() - 1;
        if seg.starts_with('{') && seg.ends_with('}') {
            let name = seg.trim_matches(|c| c == '{' || c == '}').to_string();
            if last && name == "path" {
                if p.len() < t.len() {
                    return None;
                }
                params.insert(name, p[i..].join("/"));
                return Some(params);
            }
            let v = p.get(i)?;
            if v.is_empty() {
                return None;
            }
            params.insert(name, percent_decode(v));
        } else if p.get(i) != Some(seg) {
            return None;
        }
    }
    (t.len() == p.len()).then_some(params)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    }
}

/// Validates `v` against a JSON schema subset; pushes messages into `errs`.
pub fn validate(schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>, strict: bool) {
    if v.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        if !type_ok(ty, v) {
            errs.push(format!("{at}: expected {ty}, got {v}"));
            return;
        }
    }
    if let Some(en) = schema.get("enum").and_then(Value::as_array) {
        if !en.contains(v) {
            errs.push(format!("{at}: {v} not in enum {en:?}"));
        }
    }
    if let (Some(max), Some(s)) = (schema.get("maxLength").and_then(Value::as_u64), v.as_str()) {
        let n = s.chars().count() as u64;
        if n > max {
            errs.push(format!("{at}: {n} characters > maxLength {max}"));
        }
    }
    if let Some(arr) = v.as_array() {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if arr.len() as u64 > max {
                errs.push(format!("{at}: {} items > maxItems {max}", arr.len()));
            }
        }
        if let Some(items) = schema.get("items") {
            for (i, item) in arr.iter().enumerate() {
                validate(items, item, &format!("{at}[{i}]"), errs, strict);
            }
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req {
                let r = r.as_str().unwrap_or_default();
                if !obj.contains_key(r) {
                    errs.push(format!("{at}: missing required `{r}`"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(ps, val, &format!("{at}.{k}"), errs, strict),
                None if strict && props.is_some() => {
                    errs.push(format!("{at}: unknown property `{k}`"))
                }
                None => {}
            }
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let ok = branches.iter().any(|b| {
                let mut e = Vec::new();
                validate(b, v, at, &mut e, false);
                e.is_empty()
            });
            if !ok {
                errs.push(format!("{at}: matches no branch of {key}"));
            }
        }
    }
}

/// The operation id and path parameters of a request.
type Matched = (String, HashMap<String, String>);

fn check_request(
    ops: &Map<String, Value>,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> (Option<Matched>, Vec<String>) {
    let mut errs = Vec::new();
    let mut found = None;
    for (id, op) in ops {
        if op["method"].as_str() != Some(method.as_str()) {
            continue;
        }
        if let Some(params) = match_template(op["path"].as_str().unwrap(), path) {
            found = Some((id.clone(), params));
            break;
        }
    }
    let Some((id, params)) = found else {
        errs.push(format!(
            "{method} {path}: no such operation in the contract"
        ));
        return (None, errs);
    };
    let op = &ops[&id];
    let declared = op["parameters"].as_array().cloned().unwrap_or_default();
    for p in &declared {
        if p["in"] == "path" {
            let name = p["name"].as_str().unwrap();
            match params.get(name) {
                Some(v) if p["schema"]["type"] == "integer" && v.parse::<i64>().is_err() => {
                    errs.push(format!("{id}: path parameter {name}={v} is not an integer"))
                }
                None => errs.push(format!("{id}: missing path parameter {name}")),
                _ => {}
            }
        }
    }
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match declared
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == k)
        {
            None => errs.push(format!("{id}: unknown query parameter `{k}`")),
            Some(p) => {
                let v = percent_decode(v);
                let val = if p["schema"]["type"] == "integer" {
                    match v.parse::<i64>() {
                        Ok(n) => json!(n),
                        Err(_) => {
                            errs.push(format!("{id}: query {k}={v} is not an integer"));
                            continue;
                        }
                    }
                } else {
                    json!(v)
                };
                validate(&p["schema"], &val, &format!("{id}?{k}"), &mut errs, true);
            }
        }
    }
    let rb = op.get("requestBody");
    if body.is_empty() {
        if rb.map(|r| r["required"] == true).unwrap_or(false) {
            errs.push(format!("{id}: request body required"));
        }
    } else {
        match (rb, serde_json::from_slice::<Value>(body)) {
            (None, _) => errs.push(format!("{id}: takes no request body")),
            (_, Err(e)) => errs.push(format!("{id}: body is not JSON: {e}")),
            (Some(rb), Ok(v)) => validate(&rb["schema"], &v, &id, &mut errs, true),
        }
    }
    (Some((id, params)), errs)
}

fn example(ops: &Map<String, Value>, op: &str, code: &str) -> Value {
    ops[op]["responses"][code]["example"].clone()
}

fn json_response(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn handle(
    st: Arc<Mutex<State>>,
    ops: Arc<Map<String, Value>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    // The artifact storage GitHub's download redirects to: another service,
    // outside the REST contract, reached with a signed link and no token.
    if let Some(id) = path
        .strip_prefix(STORAGE_PREFIX)
        .and_then(|rest| rest.strip_suffix(".zip"))
        .and_then(|id| id.parse::<u64>().ok())
    {
        let mut s = st.lock().unwrap();
        let auth = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or("<not text>").to_string());
        s.storage_auth.push(auth);
        if let Some(Fault::Status(code, _, body)) =
            s.faults.get_mut(STORAGE_OP).and_then(VecDeque::pop_front)
        {
            let code = StatusCode::from_u16(code).unwrap();
            return (code, body.to_string()).into_response();
        }
        if uri.query() != Some(STORAGE_SIGNATURE) {
            return (StatusCode::FORBIDDEN, "bad signature").into_response();
        }
        return match s.artifacts.iter().find(|a| a.id == id) {
            Some(a) => (StatusCode::OK, a.zip.clone()).into_response(),
            None => (StatusCode::NOT_FOUND, "no such blob").into_response(),
        };
    }
    let query = uri.query().unwrap_or("").to_string();
    let (matched, errs) = check_request(&ops, &method, &path, &query, &body);
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let op = matched.as_ref().map(|m| m.0.clone()).unwrap_or_default();
    let fault = {
        let mut s = st.lock().unwrap();
        s.seen.push(Seen {
            op: op.clone(),
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: body_json.clone(),
            at: std::time::Instant::now(),
        });
        if !errs.is_empty() {
            s.violations.extend(errs.iter().cloned());
            return json_response(
                422,
                json!({"message": "contract violation", "errors": errs}),
            );
        }
        s.faults.get_mut(&op).and_then(VecDeque::pop_front)
    };
    let Some((op, params)) = matched else {
        return json_response(404, json!({"message": "Not Found"}));
    };
    let mut after_apply = None;
    match fault {
        Some(Fault::Status(code, headers, body)) => {
            let mut resp = json_response(code, body);
            for (k, v) in headers {
                resp.headers_mut()
                    .insert(k, HeaderValue::from_str(&v).unwrap());
            }
            return resp;
        }
        Some(Fault::StatusAndPush(code, body, head)) => {
            st.lock().unwrap().head_sha = head;
            return json_response(code, body);
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::AfterApply(code)) => after_apply = Some(code),
        None => {}
    }
    if op == "issues/list-comments" {
        let barrier = st.lock().unwrap().list_barrier.clone();
        if let Some(b) = barrier {
            b.wait().await;
        }
    }
    let resp = apply(&st, &ops, &op, &params, &query, &body_json);
    match after_apply {
        Some(code) => json_response(code, json!({"message": "Server Error"})),
        None => resp,
    }
}

/// The name under which faults for the artifact storage are queued (it is not an
/// operation of the REST contract); only [`Fault::Status`] applies there.
pub const STORAGE_OP: &str = "artifact-storage";

/// Where the fake's artifact storage lives, and the signature its links carry.
const STORAGE_PREFIX: &str = "/_storage/artifact-";
const STORAGE_SIGNATURE: &str = "sig=s3cr3t&se=2099";

/// GitHub's contents API sends a file's content inline only up to 1 MB.
const INLINE_CONTENT_LIMIT: usize = 1024 * 1024;

/// `per_page` and `page` of a list request, with GitHub's defaults (30, 1).
fn paging(query: &str) -> (usize, usize) {
    let number = |name: &str, default: usize| {
        query_param(query, name)
            .and_then(|v| v.parse().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(default)
    };
    (number("per_page", 30), number("page", 1))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn comment_json(ops: &Map<String, Value>, c: &Comment) -> Value {
    let mut v = example(ops, "issues/get-comment", "200");
    v["id"] = json!(c.id);
    v["body"] = json!(c.body);
    v["user"]["login"] = json!(c.login);
    v["user"]["type"] = json!(if c.login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    });
    v
}

fn check_json(ops: &Map<String, Value>, c: &CheckRun) -> Value {
    let mut v = example(ops, "checks/create", "201");
    v["id"] = json!(c.id);
    v["head_sha"] = json!(c.head_sha);
    v["name"] = json!(c.name);
    v["status"] = json!(c.status);
    v["conclusion"] = json!(c.conclusion);
    v["external_id"] = json!(c.external_id);
    for k in ["title", "summary", "text"] {
        v["output"][k] = c.output.get(k).cloned().unwrap_or(Value::Null);
    }
    v
}

fn merge_check(c: &mut CheckRun, b: &Value) {
    if let Some(s) = b.get("status").and_then(Value::as_str) {
        c.status = s.into();
    }
    if let Some(s) = b.get("conclusion").and_then(Value::as_str) {
        c.conclusion = Some(s.into());
        c.status = "completed".into();
    }
    if let Some(s) = b.get("external_id").and_then(Value::as_str) {
        c.external_id = Some(s.into());
    }
    if let Some(a) = b.get("actions") {
        c.actions = a.clone();
    }
    if let Some(out) = b.get("output") {
        let mut out = out.clone();
        if let Some(anns) = out.as_object_mut().and_then(|o| o.remove("annotations")) {
            c.annotations
                .extend(anns.as_array().cloned().unwrap_or_default());
        }
        c.output = out;
    }
}

fn apply(
    st: &Arc<Mutex<State>>,
    ops: &Map<String, Value>,
    op: &str,
    params: &HashMap<String, String>,
    query: &str,
    body: &Value,
) -> Response {
    let mut s = st.lock().unwrap();
    let comment_id = params.get("comment_id").and_then(|v| v.parse::<u64>().ok());
    if s.deny_checks && op.starts_with("checks/") {
        return json_response(
            403,
            json!({"message": "Resource not accessible by integration"}),
        );
    }
    // GitHub's documented limit on comment bodies (not in the schema itself).
    if matches!(op, "issues/create-comment" | "issues/update-comment")
        && body["body"]
            .as_str()
            .is_some_and(|b| b.chars().count() > 65_536)
    {
        return json_response(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}]}),
        );
    }
    match op {
        "pulls/get" => {
            let mut v = example(ops, op, "200");
            v["number"] = json!(params["pull_number"].parse::<u64>().unwrap());
            v["head"]["sha"] = json!(s.head_sha);
            v["head"]["ref"] = json!(s.head_ref);
            v["head"]["repo"]["full_name"] = json!(s.head_repo);
            json_response(200, v)
        }
        "issues/list-comments" => {
            let (per_page, page) = paging(query);
            let items: Vec<Value> = s
                .comments
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|c| comment_json(ops, c))
                .collect();
            let more = s.comments.len() > page * per_page;
            let mut resp = json_response(200, Value::Array(items));
            let link = if more {
                format!("<http://fake/comments?page={}>; rel=\"next\"", page + 1)
            } else {
                "<http://fake/comments?page=1>; rel=\"first\"".to_string()
            };
            resp.headers_mut()
                .insert("link", HeaderValue::from_str(&link).unwrap());
            resp
        }
        "issues/create-comment" => {
            let id = s.next_id();
            let c = Comment {
                id,
                login: "github-actions[bot]".into(),
                body: body["body"].as_str().unwrap_or_default().into(),
            };
            s.comments.push(c.clone());
            let mut v = example(ops, op, "201");
            v["id"] = json!(id);
            v["body"] = json!(c.body);
            v["user"]["login"] = json!(c.login);
            json_response(201, v)
        }
        "issues/update-comment" | "issues/get-comment" | "issues/delete-comment" => {
            let Some(idx) = s.comments.iter().position(|c| Some(c.id) == comment_id) else {
                return json_response(404, json!({"message": "Not Found"}));
            };
            match op {
                "issues/update-comment" => {
                    s.comments[idx].body = body["body"].as_str().unwrap_or_default().into();
                    json_response(200, comment_json(ops, &s.comments[idx]))
                }
                "issues/get-comment" => json_response(200, comment_json(ops, &s.comments[idx])),
                _ => {
                    s.comments.remove(idx);
                    StatusCode::NO_CONTENT.into_response()
                }
            }
        }
        "reactions/create-for-issue-comment" => {
            let content = body["content"].as_str().unwrap_or_default().to_string();
            s.reactions.push((comment_id.unwrap_or(0), content.clone()));
            let mut v = example(ops, op, "201");
            v["content"] = json!(content);
            json_response(201, v)
        }
        "checks/create" => {
            let id = s.next_id();
            let mut c = CheckRun {
                id,
                head_sha: body["head_sha"].as_str().unwrap_or_default().into(),
                name: body["name"].as_str().unwrap_or_default().into(),
                status: "queued".into(),
                conclusion: None,
                output: Value::Null,
                annotations: vec![],
                actions: Value::Null,
                external_id: None,
            };
            merge_check(&mut c, body);
            let v = check_json(ops, &c);
            s.check_runs.push(c);
            json_response(201, v)
        }
        "checks/update" => {
            let id: u64 = params["check_run_id"].parse().unwrap();
            let Some(c) = s.check_runs.iter_mut().find(|c| c.id == id) else {
                return json_response(404, json!({"message": "Not Found"}));
            };
            merge_check(c, body);
            let v = check_json(ops, c);
            json_response(200, v)
        }
        "checks/list-for-ref" => {
            let sha = params["ref"].clone();
            let name = query_param(query, "check_name");
            let runs: Vec<Value> = s
                .check_runs
                .iter()
                .filter(|c| {
                    c.head_sha == sha && name.as_deref().map(|n| n == c.name).unwrap_or(true)
                })
                .map(|c| check_json(ops, c))
                .collect();
            json_response(200, json!({"total_count": runs.len(), "check_runs": runs}))
        }
        "repos/create-commit-comment" => {
            let id = 9_000 + s.commit_comments.len() as u64;
            s.commit_comments.push((
                params["commit_sha"].clone(),
                body["body"].as_str().unwrap_or("").to_owned(),
            ));
            let mut v = example(ops, op, "201");
            v["id"] = json!(id);
            v["body"] = body["body"].clone();
            json_response(201, v)
        }
        "repos/create-commit-status" => {
            let mut b = body.clone();
            b["sha"] = json!(params["sha"]);
            s.statuses.push(b);
            let mut v = example(ops, op, "201");
            v["state"] = body["state"].clone();
            json_response(201, v)
        }
        "repos/get-collaborator-permission-level" => {
            let user = &params["username"];
            match s.permissions.get(user) {
                Some(role) => {
                    // As GitHub answers: `permission` is admin|write|read|none
                    // (maintain shows as write, triage as read); `role_name`
                    // carries the role itself.
                    let permission = match role.as_str() {
                        "admin" => "admin",
                        "maintain" | "write" => "write",
                        "triage" | "read" => "read",
                        _ => "none",
                    };
                    let mut v = example(ops, op, "200");
                    v["permission"] = json!(permission);
                    v["role_name"] = json!(role);
                    v["user"]["login"] = json!(user);
                    json_response(200, v)
                }
                None => json_response(404, json!({"message": "Not Found"})),
            }
        }
        "repos/get-content" => {
            let path = params["path"].clone();
            let Some((content, sha)) = s.files.get(&path).cloned() else {
                // A directory listing for the files under `path`.
                let prefix = format!("{}/", path.trim_end_matches('/'));
                let mut children: std::collections::BTreeMap<String, Value> = Default::default();
                for (p, (_, sha)) in s.files.iter().filter(|(p, _)| p.starts_with(&prefix)) {
                    let rest = &p[prefix.len()..];
                    let entry = match rest.split_once('/') {
                        Some((dir, _)) => {
                            json!({"type": "dir", "name": dir, "path": format!("{prefix}{dir}"), "sha": "0".repeat(40)})
                        }
                        None => json!({"type": "file", "name": rest, "path": p, "sha": sha}),
                    };
                    children.insert(entry["name"].as_str().unwrap().to_string(), entry);
                }
                let entries: Vec<Value> = children.into_values().collect();
                if entries.is_empty() {
                    return json_response(404, json!({"message": "Not Found"}));
                }
                return json_response(200, Value::Array(entries));
            };
            use base64::Engine;
            let mut v = example(ops, op, "200");
            if v.is_array() {
                v = json!({});
            }
            v["type"] = json!("file");
            v["path"] = json!(path);
            v["sha"] = json!(sha);
            v["size"] = json!(content.len());
            if content.len() > INLINE_CONTENT_LIMIT {
                // As GitHub: too large to send inline (read it as a blob).
                v["encoding"] = json!("none");
                v["content"] = json!("");
            } else {
                v["encoding"] = json!("base64");
                v["content"] = json!(base64::engine::general_purpose::STANDARD.encode(content));
            }
            json_response(200, v)
        }
        "git/get-blob" => {
            use base64::Engine;
            let sha = &params["file_sha"];
            let Some((content, _)) = s.files.values().find(|(_, b)| b == sha).cloned() else {
                return json_response(404, json!({"message": "Not Found"}));
            };
            let mut v = example(ops, op, "200");
            v["sha"] = json!(sha);
            v["size"] = json!(content.len());
            v["encoding"] = json!("base64");
            v["content"] = json!(base64::engine::general_purpose::STANDARD.encode(content));
            json_response(200, v)
        }
        "actions/list-artifacts-for-repo" => {
            let (per_page, page) = paging(query);
            let name = query_param(query, "name");
            let template = example(ops, op, "200")["artifacts"][0].clone();
            let matching: Vec<&FakeArtifact> = s
                .artifacts
                .iter()
                .rev()
                .filter(|a| name.as_deref().is_none_or(|n| n == a.name))
                .collect();
            let items: Vec<Value> = matching
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|a| {
                    let mut v = template.clone();
                    v["id"] = json!(a.id);
                    v["name"] = json!(a.name);
                    v["size_in_bytes"] = json!(a.zip.len());
                    v["expired"] = json!(a.expired);
                    v["workflow_run"]["head_sha"] = json!(a.head_sha);
                    v
                })
                .collect();
            json_response(
                200,
                json!({"total_count": matching.len(), "artifacts": items}),
            )
        }
        "actions/download-artifact" => {
            let id: u64 = params["artifact_id"].parse().unwrap();
            if params["archive_format"] != "zip" {
                return json_response(404, json!({"message": "Not Found"}));
            }
            match s.artifacts.iter().find(|a| a.id == id) {
                None => json_response(404, json!({"message": "Not Found"})),
                Some(a) if a.expired => {
                    json_response(410, json!({"message": "Artifact has expired"}))
                }
                Some(a) => {
                    let location =
                        format!("{}{STORAGE_PREFIX}{}.zip?{STORAGE_SIGNATURE}", s.url, a.id);
                    let mut resp = StatusCode::FOUND.into_response();
                    resp.headers_mut()
                        .insert("location", HeaderValue::from_str(&location).unwrap());
                    resp
                }
            }
        }
        "repos/create-or-update-file-contents" => {
            use base64::Engine;
            let path = params["path"].clone();
            let existing = s.files.get(&path).map(|f| f.1.clone());
            let given = body.get("sha").and_then(Value::as_str).map(String::from);
            if existing != given {
                return json_response(
                    409,
                    json!({"message": format!("{path} does not match {given:?}")}),
                );
            }
            let content = base64::engine::general_purpose::STANDARD
                .decode(body["content"].as_str().unwrap_or_default())
                .unwrap_or_default();
            s.blob_counter += 1;
            let sha = format!("{:040x}", s.blob_counter);
            s.files.insert(path.clone(), (content, sha.clone()));
            let branch = body["branch"].as_str().unwrap_or_default().to_string();
            let message = body["message"].as_str().unwrap_or_default().to_string();
            s.commits.push((path, branch, message));
            let code = if existing.is_some() { "200" } else { "201" };
            let mut v = example(ops, op, code);
            v["content"]["sha"] = json!(sha);
            json_response(code.parse().unwrap(), v)
        }
        "apps/create-installation-access-token" => {
            let mut v = example(ops, op, "201");
            v["token"] = json!("ghs_fake_installation_token");
            v["expires_at"] = json!("2099-01-01T00:00:00Z");
            json_response(201, v)
        }
        other => json_response(
            501,
            json!({"message": format!("fake does not implement {other}")}),
        ),
    }
}
