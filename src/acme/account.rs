//! The ACME account: created once per CA and kept in `state_dir/account.json`, so restarts
//! and renewals reuse it (CAs rate-limit account creation).

use instant_acme::{Account, AccountCredentials, NewAccount};
use serde::{Deserialize, Serialize};

use super::http::Client;
use super::store::Store;

/// The file: the credentials, and the directory they belong to (a changed `acme.directory`
/// means another CA, and a new account there).
#[derive(Serialize, Deserialize)]
struct Saved {
    directory: String,
    credentials: AccountCredentials,
}

/// The stored account for the configured CA, or a new one (saved before it is used).
pub async fn open(store: &Store) -> Result<Account, String> {
    let acme = store.acme();
    let http = || Client::new(acme.ca_certificate.as_deref()).map(Box::new);
    let saved = store
        .read(&acme.account())
        .and_then(|b| serde_json::from_slice::<Saved>(&b).ok())
        .filter(|s| s.directory == acme.directory);
    if let Some(saved) = saved {
        return Account::builder_with_http(http()?)
            .from_credentials(saved.credentials)
            .await
            .map_err(|e| format!("{}: {e}", acme.directory));
    }
    let contact: Vec<&str> = acme.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        // Validation refuses a config without `terms_of_service_agreed = true`.
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = Account::builder_with_http(http()?)
        .create(&new, acme.directory.clone(), None)
        .await
        .map_err(|e| format!("creating an account at {}: {e}", acme.directory))?;
    let saved = Saved {
        directory: acme.directory.clone(),
        credentials,
    };
    let json = serde_json::to_vec(&saved).map_err(|e| e.to_string())?;
    store
        .write(&acme.account(), &json)
        .map_err(|e| format!("{}: {e}", acme.account().display()))?;
    Ok(account)
}
