//! `cargo run --example mint -- DIR STEM=NAME[,NAME...] ...`: a throw-away CA (`DIR/ca.crt`)
//! and, for each argument, a leaf certificate `DIR/STEM.crt` with key `DIR/STEM.key` for the
//! given DNS names or IP addresses, signed by that CA. ECDSA P-256, minted with rcgen. For the
//! systemd test and the benchmark; never for production.

use std::path::Path;
use std::process::ExitCode;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

fn mint(dir: &Path, leaves: &[String]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |file: &str, pem: String| {
        std::fs::write(dir.join(file), pem).map_err(|e| format!("{file}: {e}"))
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "wellknownd test CA");
    let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
    write(
        "ca.crt",
        ca.self_signed(&ca_key).map_err(|e| e.to_string())?.pem(),
    )?;
    let issuer = Issuer::new(ca, ca_key);
    for leaf in leaves {
        let (stem, names) = leaf
            .split_once('=')
            .ok_or_else(|| format!("`{leaf}`: expected STEM=NAME[,NAME...]"))?;
        let names: Vec<String> = names.split(',').map(str::to_owned).collect();
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let params = CertificateParams::new(names).map_err(|e| e.to_string())?;
        write(
            &format!("{stem}.crt"),
            params
                .signed_by(&key, &issuer)
                .map_err(|e| e.to_string())?
                .pem(),
        )?;
        write(&format!("{stem}.key"), key.serialize_pem())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, leaves)) = args.split_first() else {
        eprintln!("usage: mint DIR STEM=NAME[,NAME...] ...");
        return ExitCode::from(2);
    };
    match mint(Path::new(dir), leaves) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mint: {e}");
            ExitCode::FAILURE
        }
    }
}
