//! The store decorator of `uppercase-ids`: ids are stored in lowercase and looked up in
//! either letter case (the answers write them in uppercase: `respond.rs`).

use crate::error::ServerError;
use crate::store::{TokenRecord, TokenStore};
use std::sync::Arc;

/// Looks ids up in lowercase, whatever case they were written in.
pub(super) struct IdsAnyCase(pub Arc<dyn TokenStore>);

impl TokenStore for IdsAnyCase {
    fn blocks(&self) -> bool {
        self.0.blocks()
    }
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        self.0.insert(record)
    }
    fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> {
        self.0.list(owner)
    }
    fn get(&self, id: &str) -> Result<Option<TokenRecord>, ServerError> {
        self.0.get(&id.to_ascii_lowercase())
    }
    fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, ServerError> {
        self.0.find_by_hash(hash)
    }
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        self.0.delete(&id.to_ascii_lowercase(), owner)
    }
    fn layers(&self) -> Vec<&'static str> {
        let mut layers = self.0.layers();
        layers.push("IdsAnyCase");
        layers
    }
}
