//! The webhook service's configuration: TOML file, environment overrides, defaults
//! and errors that name the file and place.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use irgate_github::server::{ConfigError, ServerConfig, DEFAULT_QUEUE_CAPACITY};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn environment_alone_is_enough() {
    let cfg = ServerConfig::load_with(None, env(&[("IRGATE_WEBHOOK_SECRET", "s3cret")])).unwrap();
    assert_eq!(cfg.webhook_secret.as_bytes(), b"s3cret");
    assert_eq!(cfg.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(cfg.queue_capacity, DEFAULT_QUEUE_CAPACITY);
}

#[test]
fn file_values_and_environment_overrides() {
    let secret = file("from-file\n");
    let cfg_file = file(&format!(
        "bind = \"0.0.0.0:9000\"\nwebhook_secret_file = \"{}\"\nmax_body_bytes = 2048\n\
         queue_capacity = 8\nworkers = 3\nreplay_cache_capacity = 100\n\
         handler_timeout_secs = 30\nshutdown_grace_secs = 5\n\n[github]\napp_id = 42\n\
         private_key_path = \"/keys/app.pem\"\napi_url = \"https://ghe.example/api/v3\"\n",
        secret.path().display()
    ));
    let cfg = ServerConfig::load_with(Some(cfg_file.path()), env(&[])).unwrap();
    assert_eq!(cfg.webhook_secret.as_bytes(), b"from-file");
    assert_eq!(cfg.bind.to_string(), "0.0.0.0:9000");
    assert_eq!(cfg.max_body_bytes, 2048);
    assert_eq!(cfg.queue_capacity, 8);
    assert_eq!(cfg.workers, 3);
    assert_eq!(cfg.replay_cache_capacity, 100);
    assert_eq!(cfg.handler_timeout, Duration::from_secs(30));
    assert_eq!(cfg.shutdown_grace, Duration::from_secs(5));
    assert_eq!(cfg.github.app_id, Some(42));
    assert_eq!(
        cfg.github.private_key_path.as_deref(),
        Some(Path::new("/keys/app.pem"))
    );
    assert_eq!(
        cfg.github.api_url.as_deref(),
        Some("https://ghe.example/api/v3")
    );

    let cfg = ServerConfig::load_with(
        Some(cfg_file.path()),
        env(&[
            ("IRGATE_WEBHOOK_SECRET", "from-env"),
            ("IRGATE_BIND", "127.0.0.1:7000"),
            ("IRGATE_QUEUE_CAPACITY", "16"),
            ("GITHUB_APP_ID", "7"),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.webhook_secret.as_bytes(), b"from-env");
    assert_eq!(cfg.bind.to_string(), "127.0.0.1:7000");
    assert_eq!(cfg.queue_capacity, 16);
    assert_eq!(cfg.workers, 3);
    assert_eq!(cfg.github.app_id, Some(7));
}

#[test]
fn missing_empty_or_doubled_secret_is_an_error() {
    let err = ServerConfig::load_with(None, env(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::MissingSecret), "{err}");
    assert!(err.to_string().contains("IRGATE_WEBHOOK_SECRET"));
    let err = ServerConfig::load_with(None, env(&[("IRGATE_WEBHOOK_SECRET", "")])).unwrap_err();
    assert!(matches!(err, ConfigError::EmptySecret), "{err}");
    let empty = file("\n");
    let err = ServerConfig::load_with(
        None,
        env(&[(
            "IRGATE_WEBHOOK_SECRET_FILE",
            &empty.path().display().to_string(),
        )]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::EmptySecret), "{err}");
    let err = ServerConfig::from_toml_str(
        "webhook_secret = \"a\"\nwebhook_secret_file = \"b\"\n",
        Path::new("irgate-server.toml"),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::TwoSecrets), "{err}");
}

#[test]
fn missing_secret_file_names_the_file() {
    let err = ServerConfig::load_with(
        None,
        env(&[("IRGATE_WEBHOOK_SECRET_FILE", "/nonexistent/irgate-secret")]),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/irgate-secret"),
        "{err}"
    );
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let err = ServerConfig::from_toml_str(
        "webhook_secret = \"x\"\nqueue_capacity = \"many\"\n",
        Path::new("server.toml"),
    )
    .unwrap_err();
    match &err {
        ConfigError::Parse { line, column, .. } => assert_eq!((*line, *column), (2, 18)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().starts_with("server.toml:2:18:"), "{err}");

    let err = ServerConfig::from_toml_str(
        "webhook_secret = \"x\"\nqueue_size = 3\n",
        Path::new("s.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("s.toml:2:"), "{err}");
    assert!(err.to_string().contains("queue_size"), "{err}");
}

#[test]
fn invalid_values_are_refused() {
    let err =
        ServerConfig::from_toml_str("webhook_secret = \"x\"\nworkers = 0\n", Path::new("s.toml"))
            .unwrap_err();
    assert!(err.to_string().contains("workers"), "{err}");
    let err = ServerConfig::from_toml_str(
        "webhook_secret = \"x\"\nbind = \"localhost\"\n",
        Path::new("s.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("bind"), "{err}");
    let err = ServerConfig::load_with(
        None,
        env(&[("IRGATE_WEBHOOK_SECRET", "x"), ("IRGATE_WORKERS", "four")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("IRGATE_WORKERS"), "{err}");
}

#[test]
fn secret_is_not_printed() {
    let cfg = ServerConfig::load_with(None, env(&[("IRGATE_WEBHOOK_SECRET", "hunter2")])).unwrap();
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

#[test]
fn api_url_without_a_scheme_is_refused_naming_the_setting() {
    let err = ServerConfig::load_with(
        None,
        env(&[
            ("IRGATE_WEBHOOK_SECRET", "s"),
            ("GITHUB_API_URL", "127.0.0.1:8080"),
        ]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("GITHUB_API_URL"), "{text}");
    assert!(text.contains("`127.0.0.1:8080`"), "{text}");
    let cfg_file = file("webhook_secret = \"s\"\n[github]\napi_url = \"ghe.example/api/v3\"\n");
    let err = ServerConfig::load_with(Some(cfg_file.path()), env(&[])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("api_url"), "{text}");
    assert!(text.contains("`ghe.example/api/v3`"), "{text}");
}
