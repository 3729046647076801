//! What is sent: responses prepared at config load ([`prepared`], [`site`], [`automatic`]),
//! the [`Router`] that holds them, and the pure routing function that picks one per request
//! ([`route()`]), and [`route_plain()`] for the port-80 listeners.

pub mod automatic;
pub mod plain;
pub mod prepared;
pub mod route;
pub mod router;
pub mod site;

pub use automatic::Automatic;
pub use plain::route_plain;
pub use prepared::{Body, Prepared};
pub use route::route;
pub use router::Router;
pub use site::{Fixed, Site};
