//! What is sent: responses prepared at config load ([`prepared`], [`site`]) and the pure
//! routing function that picks one per request ([`route()`]).

pub mod prepared;
pub mod route;
pub mod site;

pub use prepared::{Body, Prepared};
pub use route::route;
pub use site::{Fixed, Site};
