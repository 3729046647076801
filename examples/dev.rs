//! `cargo run --example dev`: the daemon on loopback with a freshly minted self-signed
//! certificate for `localhost` and `matrix.localhost`, so a newcomer can try it without any certificate files.
//! Everything it writes goes to `target/dev/`.

use std::path::PathBuf;
use std::process::ExitCode;

const CONFIG: &str = r#"# Written by `cargo run --example dev`; see config.example.toml for every key.
[listen]
https = ["127.0.0.1:8443", "[::1]:8443"]
http = ["127.0.0.1:8080"]

[tls]
certificate = "cert.pem"   # relative paths are resolved next to this file
private_key = "key.pem"

[[domain]]
name = "localhost"
server = "matrix.localhost:443"

[domain.client]
homeserver = "https://matrix.localhost"

[domain.support]
page = "https://localhost/support"

[[domain.support.contacts]]
role = "m.role.admin"
matrix_id = "@admin:localhost"
"#;

fn main() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/dev");
    let minted = rcgen::generate_simple_self_signed(
        ["localhost", "matrix.localhost", "127.0.0.1"]
            .map(String::from)
            .to_vec(),
    );
    let written = minted.map_err(|e| e.to_string()).and_then(|ck| {
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("cert.pem"), ck.cert.pem()))
            .and_then(|()| std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()))
            .and_then(|()| std::fs::write(dir.join("config.toml"), CONFIG))
            .map_err(|e| format!("{}: {e}", dir.display()))
    });
    if let Err(e) = written {
        eprintln!("dev: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "dev: serving {0}/config.toml; try\n  curl --cacert {0}/cert.pem https://localhost:8443/.well-known/matrix/client\n  curl -i http://127.0.0.1:8080/.well-known/matrix/server",
        dir.display()
    );
    match wellknownd::run::run(&dir.join("config.toml")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dev: {e}");
            ExitCode::FAILURE
        }
    }
}
