//! Writes wellknownd.toml(5) from config.example.toml to stdout:
//! `cargo run --example man > man/wellknownd.toml.5` (tests/man.rs checks it is current).

#[path = "../man/toml5.rs"]
mod toml5;

fn main() -> std::process::ExitCode {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    match std::fs::read_to_string(path) {
        Ok(example) => {
            print!("{}", toml5::page(&example));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("man: cannot read {path}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
