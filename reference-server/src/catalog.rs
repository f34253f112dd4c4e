//! The one way a catalog of named behaviours is declared: the faults (`fault.rs`), which a
//! conformance run must catch, and the conformant variants (`variant/mod.rs`), which it must
//! pass. Both are a `Copy` enum whose entries each carry a command-line name and a few facts,
//! written once, one line per entry.

/// Declares a catalog: the enum, `ALL` (its entries in catalog order), `name`, `from_name`,
/// `Display`, and one accessor per declared fact.
///
/// ```text
/// catalog! {
///     /// The enum's documentation.
///     pub enum Fault {
///         /// A fact's documentation.
///         fn area -> FaultArea;
///         fn description -> &'static str;
///     }
///     DeleteNoop => ("delete-noop", FaultArea::Lifecycle, "DELETE answers 204 but keeps the token"),
/// }
/// ```
///
/// Each entry gives its name and then one value per fact, in the order the facts are declared;
/// an entry with a value too many or too few does not compile.
macro_rules! catalog {
    (
        $(#[$meta:meta])*
        pub enum $catalog:ident $facts:tt
        $( $entry:ident => ($name:literal $(, $value:expr)* $(,)?), )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $catalog {
            $( $entry, )*
        }

        impl $catalog {
            /// Every entry, in catalog order.
            pub const ALL: &'static [$catalog] = &[ $( $catalog::$entry, )* ];

            /// The name used on the command line.
            pub fn name(self) -> &'static str {
                match self { $( $catalog::$entry => $name, )* }
            }

            /// The entry with this name.
            pub fn from_name(name: &str) -> Option<$catalog> {
                $catalog::ALL.iter().copied().find(|e| e.name() == name)
            }

            /// The entry's facts.
            fn facts(self) -> CatalogFacts {
                match self {
                    $( $catalog::$entry => $crate::catalog::catalog!(@facts $facts ($($value),*)), )*
                }
            }
        }

        impl std::fmt::Display for $catalog {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        $crate::catalog::catalog!(@accessors $catalog $facts);
    };
    // One entry's facts, each declared fact given the entry's value in declaration order.
    (@facts { $( $(#[$doc:meta])* fn $fact:ident -> $ty:ty; )* } ( $($value:expr),* )) => {
        CatalogFacts { $( $fact: $value, )* }
    };
    // The facts' struct and an accessor for each.
    (@accessors $catalog:ident { $( $(#[$doc:meta])* fn $fact:ident -> $ty:ty; )* }) => {
        /// One entry's facts, as the catalog declares them.
        struct CatalogFacts {
            $( $fact: $ty, )*
        }

        impl $catalog {
            $(
                $(#[$doc])*
                pub fn $fact(self) -> $ty {
                    self.facts().$fact
                }
            )*
        }
    };
}

pub(crate) use catalog;
