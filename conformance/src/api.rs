//! The API as the runner sees it: the compiled [`Contract`] of `abp_spec` (the spec read once;
//! nothing in the runner reads a spec keyword) and the runner's word for each operation.
//! The operations are the enum `cargo xtask regenerate` writes from the spec
//! (`abp_spec::OperationId`), bound to the spec by `operationId`; a spec whose operations
//! differ from it is refused by name.

pub use abp_spec::{Contract, OperationId};

/// The runner's word for each operation, in scenario names (`auth/list/...`). The match is
/// exhaustive: an operation added to the spec must be named here, and handled wherever the
/// runner matches on it (the auth suite's calls).
pub trait Label {
    fn label(self) -> &'static str;
}

impl Label for OperationId {
    fn label(self) -> &'static str {
        match self {
            OperationId::ListMyTokens => "list",
            OperationId::CreateMyToken => "create",
            OperationId::DeleteMyToken => "delete",
        }
    }
}
