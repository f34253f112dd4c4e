//! The transcription record (`openapi/TRANSCRIPTION.md`) as data: which places of the spec
//! carry a project decision rather than a fact of the vendor docs. The runner uses it to say,
//! next to a failure, that the expectation was decided by this project (so the failure may be
//! a decision to revisit rather than a server bug).

/// The record, embedded so a built binary needs no checkout.
pub const TRANSCRIPTION: &str = include_str!("../TRANSCRIPTION.md");

/// Where the record lives in the repository, for messages.
pub const TRANSCRIPTION_PATH: &str = "openapi/TRANSCRIPTION.md";

/// One row of the record's decisions table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The row's short name, e.g. "DELETE of an unknown id".
    pub title: String,
    /// `decided`, `upstream`, `docs defect` or `docs`.
    pub basis: String,
    /// Every JSON pointer the row's "the spec says" cell cites.
    pub pointers: Vec<String>,
}

impl Decision {
    /// Whether the vendor docs are silent here and the project chose.
    pub fn is_project_decision(&self) -> bool {
        self.basis == "decided"
    }
}

/// The rows of the decisions table, in order.
pub fn decisions() -> Vec<Decision> {
    parse(TRANSCRIPTION)
}

fn parse(text: &str) -> Vec<Decision> {
    let mut out = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.get(1) == Some(&"decision") {
            in_table = true;
            continue;
        }
        if !in_table || !line.starts_with('|') {
            in_table &= line.starts_with('|');
            continue;
        }
        if cells.len() < 6 || cells[1].starts_with("---") {
            continue;
        }
        let pointers = cells[4]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|c| c.starts_with("#/"))
            .map(str::to_owned)
            .collect();
        out.push(Decision {
            title: cells[1].trim_matches('`').to_owned(),
            basis: cells[2].to_owned(),
            pointers,
        });
    }
    out
}

/// The project decision a pointer falls under: the row citing that pointer or the nearest of
/// its ancestors (the longest cited prefix wins).
pub fn decision_for<'a>(decisions: &'a [Decision], pointer: &str) -> Option<&'a Decision> {
    decisions
        .iter()
        .filter(|d| d.is_project_decision())
        .flat_map(|d| d.pointers.iter().map(move |p| (d, p)))
        .filter(|(_, p)| {
            pointer == p.as_str()
                || pointer
                    .strip_prefix(p.trim_end_matches('/'))
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(_, p)| p.len())
        .map(|(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Spec;

    #[test]
    fn every_row_has_a_known_basis_and_its_pointers_resolve() {
        let rows = decisions();
        assert!(rows.len() >= 20, "{rows:?}");
        let spec = Spec::embedded();
        for row in &rows {
            assert!(
                ["decided", "upstream", "docs defect", "docs"].contains(&row.basis.as_str()),
                "{}: unknown basis `{}`",
                row.title,
                row.basis
            );
            for p in &row.pointers {
                let p = p.trim_end_matches('/');
                assert!(
                    spec.lookup(p).is_some(),
                    "{}: `{p}` does not resolve in the spec",
                    row.title
                );
            }
        }
        assert!(rows.iter().filter(|r| r.is_project_decision()).count() >= 10);
    }

    #[test]
    fn a_pointer_finds_its_nearest_decision() {
        let rows = decisions();
        let unknown = decision_for(&rows, "#/components/responses/NotFound").unwrap();
        assert_eq!(unknown.title, "DELETE of an unknown id");
        let name = decision_for(
            &rows,
            "#/components/schemas/CreateUserAccessTokenRequest/properties/name/maxLength",
        )
        .unwrap();
        assert_eq!(name.title, "The name's length limits");
        // Upstream facts are not project decisions.
        assert!(decision_for(&rows, "#/servers").is_none());
    }
}
