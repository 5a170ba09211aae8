//! The peers: one processing plugin, the tagger ("tag lines containing error or
//! warning words, pass the rest"), written four times: native Rust, Lua 5.4
//! (through `mlua`, Lua built from source), Rhai, and Fusabi (through the host's
//! plugin adapter, as the host runs it). Each is called from Rust once per line,
//! with a `&str`, and answers with an [`Action`].

use rhai::{CallFnOptions, Dynamic, Engine, Scope, AST};
use scarab_plugins::{Action, FusabiPlugin, Plugin};

use super::{fusabi_plugin, output_lines, runtime, tag_line, NativeTagger, Script};

/// The tagger in Lua 5.4.
pub const LUA_TAGGER: &str = r#"
function on_output(line)
  local lower = string.lower(line)
  if string.find(lower, "error", 1, true) then
    return "[ERROR] " .. line
  elseif string.find(lower, "warning", 1, true) then
    return "[WARN] " .. line
  end
  return nil
end
"#;

/// The tagger in Rhai.
pub const RHAI_TAGGER: &str = r#"
fn on_output(line) {
    let lower = line.to_lower();
    if lower.contains("error") {
        "[ERROR] " + line
    } else if lower.contains("warning") {
        "[WARN] " + line
    } else {
        ()
    }
}
"#;

/// Which implementation of the tagger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Native Rust.
    Native,
    /// Lua 5.4 via mlua.
    Lua,
    /// Rhai.
    Rhai,
    /// Fusabi via the host's `FusabiPlugin`.
    Fusabi,
}

/// The tagger in Lua: the state and the resolved function.
pub struct LuaTagger {
    _lua: mlua::Lua,
    func: mlua::Function,
}

impl LuaTagger {
    /// Load the Lua tagger and resolve its function once.
    pub fn new() -> Self {
        let lua = mlua::Lua::new();
        lua.load(LUA_TAGGER)
            .set_name("tagger.lua")
            .exec()
            .unwrap_or_else(|e| panic!("tagger.lua: {e}"));
        let func: mlua::Function = lua
            .globals()
            .get("on_output")
            .unwrap_or_else(|e| panic!("tagger.lua: {e}"));
        Self { _lua: lua, func }
    }

    fn on_output(&mut self, line: &str) -> Action {
        match self.func.call::<Option<String>>(line) {
            Ok(Some(s)) => Action::Modify(s),
            Ok(None) => Action::Continue,
            Err(e) => panic!("tagger.lua: {e}"),
        }
    }
}

/// The tagger in Rhai: engine, compiled script, scope.
pub struct RhaiTagger {
    engine: Engine,
    ast: AST,
    scope: Scope<'static>,
}

impl RhaiTagger {
    /// Compile the Rhai tagger once.
    pub fn new() -> Self {
        let engine = Engine::new();
        let ast = engine
            .compile(RHAI_TAGGER)
            .unwrap_or_else(|e| panic!("tagger.rhai: {e}"));
        Self {
            engine,
            ast,
            scope: Scope::new(),
        }
    }

    fn on_output(&mut self, line: &str) -> Action {
        // Call the function only: the script's top level is not run again.
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result: Dynamic = self
            .engine
            .call_fn_with_options(
                options,
                &mut self.scope,
                &self.ast,
                "on_output",
                (line.to_owned(),),
            )
            .unwrap_or_else(|e| panic!("tagger.rhai: {e}"));
        match result.into_string() {
            Ok(s) => Action::Modify(s),
            Err(_) => Action::Continue,
        }
    }
}

/// One of the four taggers.
// One value per benchmark; boxing the large variant would add an indirection to
// one peer's calls only.
#[allow(clippy::large_enum_variant)]
pub enum Peer {
    /// Native Rust.
    Native(NativeTagger),
    /// Lua.
    Lua(LuaTagger),
    /// Rhai.
    Rhai(RhaiTagger),
    /// Fusabi.
    Fusabi(FusabiPlugin),
}

impl Peer {
    /// Build and load the tagger in `lang`.
    pub fn new(lang: Lang) -> Self {
        match lang {
            Lang::Native => Peer::Native(NativeTagger::new("native")),
            Lang::Lua => Peer::Lua(LuaTagger::new()),
            Lang::Rhai => Peer::Rhai(RhaiTagger::new()),
            Lang::Fusabi => {
                let rt = runtime(false, false);
                Peer::Fusabi(fusabi_plugin(
                    Script::Tagger.source(),
                    Script::Tagger.path(),
                    &rt,
                ))
            }
        }
    }

    /// One hook call.
    pub fn on_output(&mut self, line: &str) -> Action {
        match self {
            Peer::Native(p) => p.on_output(line).unwrap_or_else(|e| panic!("{e}")),
            Peer::Lua(p) => p.on_output(line),
            Peer::Rhai(p) => p.on_output(line),
            Peer::Fusabi(p) => p.on_output(line).unwrap_or_else(|e| panic!("{e}")),
        }
    }
}

/// A tagger and the lines to feed it.
pub struct PeerInput {
    /// The tagger.
    pub peer: Peer,
    /// Lines, in order.
    pub lines: Vec<String>,
}

fn check(peer: &mut Peer, lines: &[String]) {
    for line in lines {
        let want = tag_line(line).map_or(Action::Continue, Action::Modify);
        assert_eq!(peer.on_output(line), want, "peer disagrees on {line:?}");
    }
}

/// The tagger in `lang`, checked against the native result on 100 mixed lines, and
/// one line to tag.
pub fn setup_peer_error(lang: Lang) -> PeerInput {
    setup_peer(lang, vec![super::ERROR_LINE.to_owned()])
}

/// The tagger in `lang` and one line to pass on.
pub fn setup_peer_plain(lang: Lang) -> PeerInput {
    setup_peer(lang, vec![super::PLAIN_LINE.to_owned()])
}

/// The tagger in `lang` and 100 mixed lines.
pub fn setup_peer_mixed(lang: Lang) -> PeerInput {
    setup_peer(lang, output_lines(100))
}

fn setup_peer(lang: Lang, lines: Vec<String>) -> PeerInput {
    let mut peer = Peer::new(lang);
    check(&mut peer, &output_lines(100));
    PeerInput { peer, lines }
}

/// One hook call on the first line.
pub fn run_peer_one(p: &mut PeerInput) -> Action {
    p.peer.on_output(std::hint::black_box(&p.lines[0]))
}

/// One hook call per line, for all lines.
pub fn run_peer_all(p: &mut PeerInput) -> usize {
    let mut modified = 0;
    for line in &p.lines {
        if matches!(p.peer.on_output(line), Action::Modify(_)) {
            modified += 1;
        }
    }
    modified
}
