//! The spec compiled once into an immutable, typed contract: the one semantic model that the
//! runner, the reference server and their suites query. Nothing outside this crate reads a
//! spec keyword; a tidy rule (`xtask`, `no_raw_spec_lookups_outside_openapi`) keeps it so.
//!
//! What it holds: the operations by [`OperationId`]; the security schemes as an enum matched
//! exhaustively (a scheme this build cannot serve or exercise is refused by name when the
//! contract is compiled, so a spec that gains one never passes silently); the create body as
//! a model of fields with their type, constraints and enums; the lifetimes with their
//! durations; the mask bound; the response and parameter validators; the keys a normalizer
//! treats as ids and instants.

use crate::model::{Lifetime, Operation, Operations, Server};
use crate::{
    LIFETIME_SCHEMA, OperationId, SchemaValidator, ServerSet, Spec, SpecError, TokenFields,
    escape_pointer,
};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

/// A security scheme of `#/components/securitySchemes` that this build can serve and exercise.
/// Matched exhaustively by its consumers: a variant added here fails the build wherever a
/// scheme must be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    /// `type: http, scheme: bearer`: `Authorization: <word> <credential>`.
    Bearer {
        key: String,
        pointer: String,
        /// The auth-scheme as written (`bearer`); compared without regard to case.
        word: String,
    },
    /// `type: apiKey, in: header`: a created token's secret in this header.
    ApiKeyHeader {
        key: String,
        pointer: String,
        header: String,
    },
}

impl SecurityScheme {
    /// The scheme's key in `#/components/securitySchemes`.
    pub fn key(&self) -> &str {
        match self {
            SecurityScheme::Bearer { key, .. } | SecurityScheme::ApiKeyHeader { key, .. } => key,
        }
    }

    pub fn pointer(&self) -> &str {
        match self {
            SecurityScheme::Bearer { pointer, .. }
            | SecurityScheme::ApiKeyHeader { pointer, .. } => pointer,
        }
    }
}

/// A JSON type as a schema's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Null,
}

impl JsonType {
    pub const ALL: [JsonType; 7] = [
        JsonType::String,
        JsonType::Integer,
        JsonType::Number,
        JsonType::Boolean,
        JsonType::Array,
        JsonType::Object,
        JsonType::Null,
    ];

    /// The keyword's word (`string`, `integer`, …).
    pub fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::Null => "null",
        }
    }

    fn from_name(name: &str) -> Option<JsonType> {
        JsonType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether a value of type `value` is an instance of a schema of this type (an integer is
    /// a number).
    pub fn admits(self, value: JsonType) -> bool {
        self == value || (self == JsonType::Number && value == JsonType::Integer)
    }
}

/// The constraints of one schema (a body property or an array's items), `$ref`s followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    pub json_type: Option<JsonType>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// The enum's values in spec order; empty when the schema has none.
    pub enumeration: Vec<Value>,
    pub example: Option<Value>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// Where the schema lives once `$ref`s are followed (`#/components/schemas/TokenLifetime`).
    pub home: String,
}

/// One property of a request body.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyField {
    pub name: String,
    /// `{body schema}/properties/{name}`.
    pub pointer: String,
    pub required: bool,
    pub constraints: Constraints,
    /// An array's items.
    pub items: Option<Constraints>,
}

impl BodyField {
    pub fn json_type(&self) -> Option<JsonType> {
        self.constraints.json_type
    }

    /// An array of strings (where privileges go).
    pub fn is_string_array(&self) -> bool {
        self.json_type() == Some(JsonType::Array)
            && self.items.as_ref().and_then(|i| i.json_type) == Some(JsonType::String)
    }
}

/// An operation's request body as a model of fields: what the validation, boundary and reach
/// suites enumerate, and what the server validates against.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyModel {
    /// The media type's pointer (`…/requestBody/content/application~1json`).
    pub pointer: String,
    /// Where the body's schema lives once `$ref`s are followed.
    pub schema_pointer: String,
    pub content_type: String,
    /// `x-max-body-bytes`.
    pub max_bytes: Option<u64>,
    /// `additionalProperties: false`.
    pub closed: bool,
    /// In the schema's order (sorted by name).
    pub fields: Vec<BodyField>,
    /// The required properties, in the order the schema lists them.
    pub required: Vec<String>,
    /// The body's schema, for validators.
    pub schema: Value,
}

impl BodyModel {
    pub fn field(&self, name: &str) -> Option<&BodyField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The first array-of-strings field (the privileges).
    pub fn string_array(&self) -> Option<&BodyField> {
        self.fields.iter().find(|f| f.is_string_array())
    }

    /// A body the spec says is valid: each property's first enum value, or its example, with
    /// `name_field` set to `name`. Properties with neither are left out.
    pub fn valid_example(&self, name_field: &str, name: &str) -> Value {
        let mut body = Map::new();
        for f in &self.fields {
            let value = if f.name == name_field {
                Value::String(name.to_owned())
            } else if let Some(first) = f.constraints.enumeration.first() {
                first.clone()
            } else if let Some(example) = &f.constraints.example {
                example.clone()
            } else {
                continue;
            };
            body.insert(f.name.clone(), value);
        }
        Value::Object(body)
    }
}

/// How much of a secret a mask may show, read from the spec's masked example (the most
/// characters any example with a run of asterisks shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskLimit {
    /// How many characters the example mask shows (all but its asterisks).
    pub shown: usize,
    /// The JSON pointer of the masked example value.
    pub pointer: String,
}

/// A run of at least this many asterisks marks a masked example.
const MASK_RUN: &str = "***";

/// The keywords of one schema a normalizer acts on, `allOf` members merged.
#[derive(Debug, Clone, Default)]
pub struct SchemaFacts {
    pub read_only: bool,
    pub date_time: bool,
    pub secret: bool,
    /// The object's property schemas, when the schema lists properties.
    pub properties: Option<Map<String, Value>>,
    /// An array's item schema.
    pub items: Option<Value>,
}

/// The compiled contract. Built once ([`Contract::compile`], [`Contract::embedded`]) and shared
/// behind an `Arc`.
pub struct Contract {
    spec: Spec,
    operations: Operations,
    pub list: Operation,
    pub create: Operation,
    pub delete: Operation,
    /// Every security scheme, in the spec's order (sorted by key).
    pub schemes: Vec<SecurityScheme>,
    /// The header of the api-key scheme: where a created secret authenticates.
    pub access_token_header: String,
    /// The pointer of that scheme, for failure messages.
    pub access_token_pointer: String,
    /// Names of properties the spec marks `x-secret: true` anywhere.
    pub secret_fields: Vec<String>,
    /// A token's fields by role.
    pub fields: TokenFields,
    /// The create operation's body.
    pub create_body: BodyModel,
    /// The lifetime enum in spec order, each with its duration.
    pub lifetimes: Vec<Lifetime>,
    /// The create body's property whose schema is the lifetime enum.
    pub lifetime_property: String,
    /// The lifetime the spec gives as that property's example (else the first).
    pub example_lifetime: Lifetime,
    /// The token's properties the server sets (what a create body must not set).
    pub server_set: Vec<ServerSet>,
    pub servers: Vec<Server>,
    pub mask_limit: Option<MaskLimit>,
    /// Object keys whose values are `format: date-time` somewhere in the spec.
    pub date_time_keys: BTreeSet<String>,
    /// Object keys whose values are `readOnly` (the ids).
    pub read_only_keys: BTreeSet<String>,
    /// Every parameter and response schema, compiled, by pointer.
    validators: HashMap<String, SchemaValidator>,
    /// The create body's validator.
    pub create_validator: SchemaValidator,
    /// The delete operation's path parameter's validator.
    pub token_id_validator: SchemaValidator,
    /// Where that parameter's schema is defined, `$ref`s followed.
    pub token_id_schema_pointer: String,
    /// That parameter's name and example (its schema's, else its own).
    pub token_id_param: String,
    pub token_id_example: Option<String>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("version", &self.spec.version())
            .field("schemes", &self.schemes)
            .finish_non_exhaustive()
    }
}

fn invalid(pointer: &str, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

impl Contract {
    /// The embedded spec's contract, compiled on first use and shared.
    pub fn embedded() -> Arc<Contract> {
        static EMBEDDED: OnceLock<Arc<Contract>> = OnceLock::new();
        EMBEDDED
            .get_or_init(|| {
                Arc::new(
                    Contract::compile(Spec::embedded())
                        .expect("the embedded spec compiles (checked by tests)"),
                )
            })
            .clone()
    }

    /// Compiles a spec; any fact the runner or the server needs and cannot find is an error
    /// naming the JSON pointer at fault.
    pub fn compile(spec: Spec) -> Result<Contract, SpecError> {
        let operations = spec.bind_operations()?;
        let list = operations.get(OperationId::ListMyTokens).clone();
        let create = operations.get(OperationId::CreateMyToken).clone();
        let delete = operations.get(OperationId::DeleteMyToken).clone();
        if delete.path_params().next().is_none() {
            return Err(invalid(
                &delete.pointer,
                format!("{} has no path parameter for the token id", delete.id),
            ));
        }
        let schemes = security_schemes(&spec)?;
        let (access_token_header, access_token_pointer) = schemes
            .iter()
            .find_map(|s| match s {
                SecurityScheme::ApiKeyHeader {
                    header, pointer, ..
                } => Some((header.clone(), pointer.clone())),
                SecurityScheme::Bearer { .. } => None,
            })
            .ok_or_else(|| {
                invalid(
                    "#/components/securitySchemes",
                    "no apiKey security scheme in a header (where a created secret authenticates)",
                )
            })?;
        if !schemes
            .iter()
            .any(|s| matches!(s, SecurityScheme::Bearer { .. }))
        {
            return Err(invalid(
                "#/components/securitySchemes",
                "no http bearer security scheme",
            ));
        }
        let fields = spec.token_fields()?;
        let create_body = body_model(&spec, &create)?;
        let lifetimes = spec.lifetimes()?;
        let lifetime_field = create_body
            .fields
            .iter()
            .find(|f| f.constraints.home == LIFETIME_SCHEMA)
            .ok_or_else(|| {
                invalid(
                    &create_body.pointer,
                    format!("no property refers to {LIFETIME_SCHEMA}"),
                )
            })?;
        let example_name = lifetime_field
            .constraints
            .example
            .as_ref()
            .and_then(Value::as_str);
        let example_lifetime = lifetimes
            .iter()
            .find(|l| Some(l.name.as_str()) == example_name)
            .or_else(|| lifetimes.first())
            .cloned()
            .ok_or_else(|| invalid(LIFETIME_SCHEMA, "no lifetimes"))?;
        let lifetime_property = lifetime_field.name.clone();
        let server_set = spec.server_set_fields(&fields)?;
        let mut secret_fields = Vec::new();
        secret_properties(&spec, spec.document(), &mut secret_fields);
        let mut keys = (BTreeSet::new(), BTreeSet::new());
        collect_keys(spec.document(), &spec, &mut keys);
        let validators = compile_validators(&spec, &operations)?;
        let create_validator = spec.validator(&create_body.schema, &create_body.pointer)?;
        let param = delete.path_params().next().expect("checked above");
        let token_id_validator = spec.validator(&param.schema, &param.pointer)?;
        let (id_schema, token_id_schema_pointer) =
            spec.resolve(&param.schema, format!("{}/schema", param.pointer));
        let token_id_example = text(id_schema, "example")
            .or_else(|| spec.lookup(&param.pointer).and_then(|p| text(p, "example")))
            .map(str::to_owned);
        let token_id_param = param.name.clone();
        Ok(Contract {
            mask_limit: mask_limit(&spec, &operations),
            servers: spec.servers(),
            list,
            create,
            delete,
            operations,
            schemes,
            access_token_header,
            access_token_pointer,
            secret_fields,
            fields,
            create_body,
            lifetimes,
            lifetime_property,
            example_lifetime,
            server_set,
            date_time_keys: keys.0,
            read_only_keys: keys.1,
            validators,
            create_validator,
            token_id_validator,
            token_id_schema_pointer,
            token_id_param,
            token_id_example,
            spec,
        })
    }

    /// The parsed document, for what only needs to know that a pointer resolves.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// `info.version`.
    pub fn version(&self) -> &str {
        self.spec.version()
    }

    /// `info.title`.
    pub fn title(&self) -> &str {
        self.spec
            .document()
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn operation(&self, id: OperationId) -> &Operation {
        self.operations.get(id)
    }

    /// Each operation with its id, in document order.
    pub fn operations(&self) -> impl Iterator<Item = (OperationId, &Operation)> {
        self.operations.iter()
    }

    /// The compiled validator of the schema or parameter at this pointer.
    pub fn validator(&self, pointer: &str) -> Option<&SchemaValidator> {
        self.validators.get(pointer)
    }

    /// The pointer of a response's schema for a media type.
    pub fn response_schema_pointer(response_pointer: &str, media: &str) -> String {
        format!(
            "{response_pointer}/content/{}/schema",
            escape_pointer(media)
        )
    }

    /// The pointer of a response's example for a media type.
    pub fn response_example_pointer(response_pointer: &str, media: &str) -> String {
        format!(
            "{response_pointer}/content/{}/example",
            escape_pointer(media)
        )
    }

    /// The auth-scheme words of the bearer schemes: what a 401's challenge must name.
    pub fn challenge_schemes(&self) -> Vec<String> {
        self.schemes
            .iter()
            .filter_map(|s| match s {
                SecurityScheme::Bearer { word, .. } => Some(word.clone()),
                SecurityScheme::ApiKeyHeader { .. } => None,
            })
            .collect()
    }

    /// The lifetime with this name.
    pub fn lifetime(&self, name: &str) -> Option<&Lifetime> {
        self.lifetimes.iter().find(|l| l.name == name)
    }

    /// The keywords a normalizer acts on, for a schema of this spec (`$ref`s followed, `allOf`
    /// members merged).
    pub fn schema_facts(&self, schema: &Value) -> SchemaFacts {
        let s = flatten(&self.spec, schema);
        let flag = |k: &str| s.get(k).and_then(Value::as_bool) == Some(true);
        SchemaFacts {
            read_only: flag("readOnly"),
            date_time: s.get("format").and_then(Value::as_str) == Some("date-time"),
            secret: flag("x-secret"),
            properties: s.get("properties").and_then(Value::as_object).cloned(),
            items: s.get("items").cloned(),
        }
    }

    /// The examples the spec gives for the create body and for every answer of the create
    /// and list operations (what the model suite draws privilege lists from).
    pub fn examples(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(example) = self
            .spec
            .lookup(&format!("{}/example", self.create_body.pointer))
        {
            out.push(example.clone());
        }
        for op in [&self.create, &self.list] {
            for response in &op.responses {
                for (media, _) in &response.content {
                    let at = Contract::response_example_pointer(&response.pointer, media);
                    if let Some(example) = self.spec.lookup(&at) {
                        out.push(example.clone());
                    }
                }
            }
        }
        out
    }
}

/// The schema's own keywords plus those of its `allOf` members, `$ref`s followed.
fn flatten(spec: &Spec, schema: &Value) -> Map<String, Value> {
    let (schema, _) = spec.resolve(schema, String::new());
    let mut out = Map::new();
    if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
        for m in members {
            out.extend(flatten(spec, m));
        }
    }
    if let Some(own) = schema.as_object() {
        for (k, v) in own {
            if k != "allOf" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// Every security scheme, typed; one this build cannot serve or exercise is refused by name.
fn security_schemes(spec: &Spec) -> Result<Vec<SecurityScheme>, SpecError> {
    const AT: &str = "#/components/securitySchemes";
    let schemes = spec
        .lookup(AT)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(AT, "no security schemes"))?;
    let mut out = Vec::new();
    for (key, scheme) in schemes {
        let pointer = format!("{AT}/{}", escape_pointer(key));
        let kind = text(scheme, "type");
        let typed = match (kind, text(scheme, "scheme"), text(scheme, "in")) {
            (Some("http"), Some(word), _) if word.eq_ignore_ascii_case("bearer") => {
                SecurityScheme::Bearer {
                    key: key.clone(),
                    pointer,
                    word: word.to_owned(),
                }
            }
            (Some("apiKey"), _, Some("header")) => {
                let header = text(scheme, "name").ok_or_else(|| {
                    invalid(
                        &pointer,
                        format!("the apiKey scheme `{key}` has no header name"),
                    )
                })?;
                SecurityScheme::ApiKeyHeader {
                    key: key.clone(),
                    pointer,
                    header: header.to_owned(),
                }
            }
            (kind, word, place) => {
                let how = [kind, word, place.map(|p| format!("in {p}")).as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(invalid(
                    &pointer,
                    format!(
                        "the security scheme `{key}` ({how}) is not one this build can serve or \
                         exercise (an HTTP bearer scheme or an API key in a header): add a variant \
                         to abp_spec::SecurityScheme and handle it where the build then fails"
                    ),
                ));
            }
        };
        out.push(typed);
    }
    Ok(out)
}

fn constraints(spec: &Spec, schema: &Value) -> Constraints {
    let home = spec.home_of(schema, String::new());
    let (s, _) = spec.resolve(schema, String::new());
    let number = |k: &str| s.get(k).and_then(Value::as_u64);
    Constraints {
        json_type: text(s, "type").and_then(JsonType::from_name),
        min_length: number("minLength"),
        max_length: number("maxLength"),
        enumeration: s
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        example: s.get("example").cloned(),
        min_items: number("minItems"),
        max_items: number("maxItems"),
        home,
    }
}

fn body_model(spec: &Spec, op: &Operation) -> Result<BodyModel, SpecError> {
    let body = op
        .body
        .as_ref()
        .ok_or_else(|| invalid(&op.pointer, format!("{} has no request body", op.id)))?;
    let (schema, schema_pointer) = spec.resolve(&body.schema, body.pointer.clone());
    let required = crate::fields::required_of(schema);
    let fields = spec
        .properties_of(&body.schema, &body.pointer)
        .into_iter()
        .map(|(name, prop, pointer)| {
            let (resolved, _) = spec.resolve(&prop, String::new());
            BodyField {
                required: required.contains(&name.as_str()),
                constraints: constraints(spec, &prop),
                items: resolved.get("items").map(|i| constraints(spec, i)),
                name,
                pointer,
            }
        })
        .collect();
    Ok(BodyModel {
        pointer: body.pointer.clone(),
        content_type: body.content_type.clone(),
        max_bytes: body.max_bytes,
        closed: schema.get("additionalProperties") == Some(&Value::Bool(false)),
        schema: body.schema.clone(),
        required: required.iter().map(|r| r.to_string()).collect(),
        fields,
        schema_pointer,
    })
}

/// Every property name, anywhere in the spec, whose schema says `x-secret: true`.
fn secret_properties(spec: &Spec, node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(props) = map.get("properties").and_then(Value::as_object) {
                for (name, schema) in props {
                    let (schema, _) = spec.resolve(schema, String::new());
                    if schema.get("x-secret").and_then(Value::as_bool) == Some(true)
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
            }
            map.values().for_each(|v| secret_properties(spec, v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| secret_properties(spec, v, out)),
        _ => {}
    }
}

/// Object keys whose schema is `format: date-time` (first) or `readOnly` (second), anywhere.
fn collect_keys(node: &Value, spec: &Spec, out: &mut (BTreeSet<String>, BTreeSet<String>)) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for (key, schema) in props {
                    let s = flatten(spec, schema);
                    if s.get("format").and_then(Value::as_str) == Some("date-time") {
                        out.0.insert(key.clone());
                    }
                    if s.get("readOnly") == Some(&Value::Bool(true)) {
                        out.1.insert(key.clone());
                    }
                }
            }
            map.values().for_each(|v| collect_keys(v, spec, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_keys(v, spec, out)),
        _ => {}
    }
}

fn compile_validators(
    spec: &Spec,
    operations: &Operations,
) -> Result<HashMap<String, SchemaValidator>, SpecError> {
    let mut by_location = HashMap::new();
    for (_, op) in operations.iter() {
        for param in &op.params {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                by_location.entry(param.pointer.clone())
            {
                slot.insert(spec.validator(&param.schema, &param.pointer)?);
            }
        }
        for response in &op.responses {
            for (media, schema) in &response.content {
                let Some(schema) = schema else { continue };
                let pointer = Contract::response_schema_pointer(&response.pointer, media);
                if let std::collections::hash_map::Entry::Vacant(slot) = by_location.entry(pointer)
                {
                    let v = spec.validator(schema, slot.key())?;
                    slot.insert(v);
                }
            }
        }
    }
    Ok(by_location)
}

/// The most characters any masked example of a response shows.
fn mask_limit(spec: &Spec, operations: &Operations) -> Option<MaskLimit> {
    let mut limit: Option<MaskLimit> = None;
    for (_, op) in operations.iter() {
        for response in &op.responses {
            for (media, _) in &response.content {
                let pointer = Contract::response_example_pointer(&response.pointer, media);
                let mut strings = Vec::new();
                if let Some(example) = spec.lookup(&pointer) {
                    collect_pointed(example, pointer, &mut strings);
                }
                for (at, s) in strings.into_iter().filter(|(_, s)| s.contains(MASK_RUN)) {
                    let shown = s.chars().filter(|c| *c != '*').count();
                    if limit.as_ref().is_none_or(|l| shown > l.shown) {
                        limit = Some(MaskLimit { shown, pointer: at });
                    }
                }
            }
        }
    }
    limit
}

/// Every string in `value` with its JSON pointer.
fn collect_pointed<'v>(value: &'v Value, at: String, out: &mut Vec<(String, &'v str)>) {
    match value {
        Value::String(s) => out.push((at, s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_pointed(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect_pointed(v, format!("{at}/{}", escape_pointer(k)), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_contract_has_every_fact() {
        let c = Contract::embedded();
        assert_eq!(c.list.method, "GET");
        assert!(c.delete.path.contains('{'));
        assert_eq!(c.schemes.len(), 2, "{:?}", c.schemes);
        assert_eq!(c.secret_fields, vec![c.fields.secret.clone()]);
        assert!(c.spec().lookup(&c.access_token_pointer).is_some());
        assert!(c.lifetimes.contains(&c.example_lifetime));
        assert!(c.create_body.string_array().is_some());
        assert!(c.create_body.fields.iter().any(|f| f.required));
        let mask = c.mask_limit.as_ref().expect("the spec shows a mask");
        assert!(mask.shown >= 4, "{mask:?}");
        assert!(c.read_only_keys.contains(&c.fields.id));
        assert!(c.date_time_keys.contains(&c.fields.created));
        assert_eq!(c.challenge_schemes(), vec!["bearer".to_owned()]);
        assert!(Arc::ptr_eq(&c, &Contract::embedded()), "compiled once");
    }

    #[test]
    fn the_valid_example_validates() {
        let c = Contract::embedded();
        let body = c.create_body.valid_example(&c.fields.name, "a name");
        assert!(c.create_validator.is_valid(&body), "{body}");
    }

    #[test]
    fn a_missing_required_property_is_named_and_other_violations_are_not() {
        let c = Contract::embedded();
        let missing = c.create_validator.violations(&serde_json::json!({}));
        let named: Vec<_> = missing
            .iter()
            .filter_map(|v| v.missing_property.clone())
            .collect();
        assert_eq!(named.len(), c.create_body.required.len(), "{missing:?}");
        assert!(c.create_body.required.iter().all(|r| named.contains(r)));
        let too_short = c.create_body.valid_example(&c.fields.name, "");
        let violations = c.create_validator.violations(&too_short);
        assert!(!violations.is_empty(), "{too_short}");
        assert!(violations.iter().all(|v| v.missing_property.is_none()));
    }

    /// Acceptance of the one-contract issue: a third security scheme (an API key in a cookie)
    /// is refused by name, never skipped.
    #[test]
    fn a_security_scheme_this_build_cannot_exercise_is_refused_by_name() {
        let mut doc = Spec::embedded().document().clone();
        doc["components"]["securitySchemes"]["sessionCookie"] =
            serde_json::json!({"type": "apiKey", "in": "cookie", "name": "sid"});
        let spec = Spec::parse(&doc.to_string()).unwrap();
        let e = Contract::compile(spec).unwrap_err().to_string();
        assert!(
            e.contains("#/components/securitySchemes/sessionCookie")
                && e.contains("`sessionCookie` (apiKey in cookie)"),
            "{e}"
        );
    }
}
