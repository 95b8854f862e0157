//! The parts of spin.toml (manifest version 2) the host needs: the HTTP route and its
//! component's source, key-value stores, variables and allowed outbound hosts.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use wasmtime::error::Context;
use wasmtime::{bail, format_err, Result};

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    trigger: RawTriggers,
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Default, Deserialize)]
struct RawVariable {
    default: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    #[allow(dead_code)] // Secrets are only kept out of logs, which print no values anyway.
    secret: bool,
}

#[derive(Debug, Deserialize)]
struct RawTriggers {
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

/// One HTTP component, resolved.
#[derive(Debug)]
pub struct App {
    pub component_id: String,
    /// The route as written (`/...` or an exact path).
    pub route: String,
    /// The `.wasm`, relative paths resolved against the manifest's directory.
    pub source: PathBuf,
    pub key_value_stores: Vec<String>,
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variables with `{{ app_variable }}` templates expanded.
    pub variables: HashMap<String, String>,
}

impl App {
    /// Whether `path` is served by the route (`/prefix/...` wildcard or an exact path).
    pub fn matches(&self, path: &str) -> bool {
        match self.route.strip_suffix("/...") {
            Some(prefix) => {
                prefix.is_empty()
                    || path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            None => path == self.route,
        }
    }
}

/// Reads the manifest. Application variables take their value from `env` (name -> value,
/// e.g. `SPIN_VARIABLE_ADMIN_TOKEN` -> `admin_token`), else from their default.
pub fn load(path: &Path, env: &HashMap<String, String>) -> Result<App> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let raw: RawManifest =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if raw.spin_manifest_version != 2 {
        bail!(
            "spin_manifest_version {} is not supported (2 is)",
            raw.spin_manifest_version
        );
    }
    let [trigger] = raw.trigger.http.as_slice() else {
        bail!("this host serves exactly one [[trigger.http]]");
    };
    let component = raw
        .component
        .get(&trigger.component)
        .ok_or_else(|| format_err!("trigger names unknown component {}", trigger.component))?;

    let mut app_vars = HashMap::new();
    for (name, var) in &raw.variables {
        let value = match (env.get(name), &var.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) if var.required => bail!(
                "variable {name} is required: set SPIN_VARIABLE_{}",
                name.to_ascii_uppercase()
            ),
            (None, None) => String::new(),
        };
        app_vars.insert(name.clone(), value);
    }
    let variables = component
        .variables
        .iter()
        .map(|(name, template)| Ok((name.clone(), expand(template, &app_vars)?)))
        .collect::<Result<HashMap<_, _>>>()?;

    let base = path.parent().unwrap_or_else(|| Path::new("."));
    Ok(App {
        component_id: trigger.component.clone(),
        route: trigger.route.clone(),
        source: base.join(&component.source),
        key_value_stores: component.key_value_stores.clone(),
        // Entries may name application variables, as in Spin (`"{{ otlp_endpoint }}"`).
        allowed_outbound_hosts: component
            .allowed_outbound_hosts
            .iter()
            .map(|h| expand(h, &app_vars))
            .collect::<Result<_>>()?,
        variables,
    })
}

/// Application variables from the environment, as Spin reads them: `SPIN_VARIABLE_<NAME>`.
pub fn variables_from_env() -> HashMap<String, String> {
    std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix("SPIN_VARIABLE_")
                .map(|name| (name.to_ascii_lowercase(), v))
        })
        .collect()
}

/// Expands `{{ name }}` references to application variables.
fn expand(template: &str, vars: &HashMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format_err!("unclosed template in {template:?}"))?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| format_err!("template {template:?} names undeclared variable {name}"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_templates() {
        let vars = HashMap::from([("a".to_owned(), "1".to_owned())]);
        assert_eq!(expand("x{{ a }}y{{a}}", &vars).unwrap(), "x1y1");
        assert!(expand("{{ b }}", &vars).is_err());
        assert!(expand("{{ a", &vars).is_err());
    }

    #[test]
    fn wildcard_routes() {
        let mut app = App {
            component_id: "c".into(),
            route: "/...".into(),
            source: PathBuf::new(),
            key_value_stores: vec![],
            allowed_outbound_hosts: vec![],
            variables: HashMap::new(),
        };
        assert!(app.matches("/anything/at/all"));
        app.route = "/api/...".into();
        assert!(app.matches("/api") && app.matches("/api/x") && !app.matches("/apix"));
        app.route = "/exact".into();
        assert!(app.matches("/exact") && !app.matches("/exact/x"));
    }

    #[test]
    fn repository_manifest() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
        let env = HashMap::from([("admin_token".to_owned(), "t".to_owned())]);
        let app = load(&path, &env).unwrap();
        assert_eq!(app.variables["admin_token"], "t");
        assert_eq!(app.key_value_stores, ["default"]);
        assert_eq!(app.allowed_outbound_hosts, ["http://127.0.0.1:4318"]);
        let collector = HashMap::from([
            ("admin_token".to_owned(), "t".to_owned()),
            (
                "otlp_endpoint".to_owned(),
                "https://otel.example:4318".to_owned(),
            ),
        ]);
        let app = load(&path, &collector).unwrap();
        assert_eq!(app.allowed_outbound_hosts, ["https://otel.example:4318"]);
        assert_eq!(app.variables["otlp_endpoint"], "https://otel.example:4318");
        assert!(
            load(&path, &HashMap::new()).is_err(),
            "admin_token is required"
        );
    }
}
