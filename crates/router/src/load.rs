//! Reading rules and targets from files.
//!
//! Accepted shapes, as JSON or YAML:
//! - a list of rules, each a PutRule request with an optional `Targets` list
//!   (PutTargets entries);
//! - `{"Rules": [...]}` (the ListRules shape, targets inline or not), with an
//!   optional `"Targets": [PutTargets request, ...]` list, each
//!   `{"Rule": NAME, "EventBusName"?: BUS, "Targets": [...]}`;
//! - a single PutRule request with inline `Targets`;
//! - a CloudFormation or SAM template: every `AWS::Events::Rule` resource
//!   with its inline `Targets`. `Ref`, `Fn::GetAtt` and `Fn::Sub` (also
//!   the YAML short forms `!Ref`, `!GetAtt`, `!Sub`) are resolved from the
//!   parameters given, the template's parameter defaults, the pseudo
//!   parameters, and resources whose name is written in the template.
//!
//! JSON files keep every number of a pattern exactly as written.

use std::collections::HashMap;
use std::path::Path;

use crate::document::{Node, decode_str};
use crate::model::{Environment, Rule, RuleDefinition, TargetDefinition};

/// A rules file that cannot be used; names the file, the rule and the field.
///
/// ```
/// use sluice_router::load::LoadError;
/// let err = LoadError::new("rules.json", "bad").in_rule("r1").at_field("Targets[0].Arn");
/// assert_eq!(err.to_string(), "rules.json: rule r1: Targets[0].Arn: bad");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{}{message}", rule.as_ref().map(|r| format!("rule {r}: ")).unwrap_or_default(), field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// The rule (its name, or its logical id in a template).
    pub rule: Option<String>,
    /// The field, as a path inside the rule.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl LoadError {
    /// An error about a file.
    pub fn new(file: &str, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_string(),
            rule: None,
            field: None,
            message: message.into(),
        }
    }

    /// Names the rule.
    pub fn in_rule(mut self, rule: &str) -> LoadError {
        self.rule = Some(rule.to_string());
        self
    }

    /// Names the field.
    pub fn at_field(mut self, field: &str) -> LoadError {
        self.field = Some(field.to_string());
        self
    }
}

/// Values for `Ref`, `Fn::GetAtt` and `${…}` in templates: template
/// parameters by name, resource attributes as `LogicalId.Attribute`.
///
/// ```
/// use sluice_router::load::Parameters;
/// let params = Parameters::parse("params.json", r#"{"AlertsTopic": "arn:aws:sns:us-east-1:123456789012:alerts"}"#).unwrap();
/// assert_eq!(params.get("AlertsTopic"), Some("arn:aws:sns:us-east-1:123456789012:alerts"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    values: HashMap<String, String>,
}

impl Parameters {
    /// Reads a parameters file: a JSON or YAML object of names to strings,
    /// or the CloudFormation CLI list `[{"ParameterKey": …, "ParameterValue": …}]`.
    pub fn parse(file: &str, text: &str) -> Result<Parameters, LoadError> {
        let json = to_json_text(file, text)?;
        let root = Node::parse(&json).map_err(|e| LoadError::new(file, e.to_string()))?;
        let mut values = HashMap::new();
        match &root {
            Node::Object(members) => {
                for (key, value) in members {
                    let Node::String(raw) = value else {
                        return Err(LoadError::new(file, "parameter values must be strings")
                            .at_field(&decode_str(key)));
                    };
                    values.insert(decode_str(key).into_owned(), decode_str(raw).into_owned());
                }
            }
            Node::Array(items) => {
                for item in items {
                    let (Some(Node::String(key)), Some(Node::String(value))) =
                        (item.get("ParameterKey"), item.get("ParameterValue"))
                    else {
                        return Err(LoadError::new(
                            file,
                            "each entry needs string ParameterKey and ParameterValue",
                        ));
                    };
                    values.insert(decode_str(key).into_owned(), decode_str(value).into_owned());
                }
            }
            _ => {
                return Err(LoadError::new(
                    file,
                    "expected an object or a list of parameters",
                ));
            }
        }
        Ok(Parameters { values })
    }

    /// Sets one value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// The value of a name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// Reads and checks every rule of a file.
///
/// ```
/// use sluice_router::{load, model::Environment};
/// let text = r#"[{"Name": "r", "EventPattern": {"source": ["aws.imagebuilder"]},
///                 "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}]"#;
/// let rules = load::parse_rules("rules.json", text, &Default::default(), &Environment::default()).unwrap();
/// assert_eq!(rules[0].targets[0].id, "q");
/// ```
pub fn parse_rules(
    file: &str,
    text: &str,
    parameters: &Parameters,
    environment: &Environment,
) -> Result<Vec<Rule>, LoadError> {
    let definitions = parse_definitions(file, text, parameters, environment)?;
    let mut rules: Vec<Rule> = Vec::with_capacity(definitions.len());
    let mut seen: std::collections::HashSet<(String, String)> =
        std::collections::HashSet::with_capacity(definitions.len());
    for definition in &definitions {
        let rule = Rule::new(definition, environment).map_err(|e| {
            LoadError::new(file, format!("{}: {}", e.code(), e.message())).in_rule(&definition.name)
        })?;
        if !seen.insert((rule.bus.clone(), rule.name.clone())) {
            return Err(LoadError::new(
                file,
                format!(
                    "a rule with this name already exists on event bus {}",
                    rule.bus
                ),
            )
            .in_rule(&rule.name));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Reads a rules file from disk (see [`parse_rules`]).
pub fn load_rules(
    path: &Path,
    parameters: &Parameters,
    environment: &Environment,
) -> Result<Vec<Rule>, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::new(&file, format!("cannot read: {e}")))?;
    parse_rules(&file, &text, parameters, environment)
}

/// Reads rule definitions without checking them against AWS's rules.
pub fn parse_definitions(
    file: &str,
    text: &str,
    parameters: &Parameters,
    environment: &Environment,
) -> Result<Vec<RuleDefinition>, LoadError> {
    // JSON is read once, in place; only other text goes through YAML.
    let converted: String;
    let root = match Node::parse(text) {
        Ok(root) => root,
        Err(_) => {
            converted = to_json_text(file, text)?;
            Node::parse(&converted).map_err(|e| LoadError::new(file, e.to_string()))?
        }
    };
    let plain = Resolver {
        parameters,
        environment,
        resources: None,
    };
    match &root {
        Node::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| read_rule(file, item, &format!("#{}", i + 1), None, &plain))
            .collect(),
        Node::Object(_) if root.get("Resources").is_some() => {
            read_template(file, &root, parameters, environment)
        }
        Node::Object(_)
            if ["Rules", "Targets", "Archives"]
                .iter()
                .any(|member| root.get(member).is_some()) =>
        {
            if let Some(key) = unknown_member(&root, FILE_MEMBERS) {
                return Err(LoadError::new(
                    file,
                    unknown_parameter("", &key, FILE_MEMBERS),
                ));
            }
            let mut rules = match root.get("Rules") {
                None => Vec::new(),
                Some(Node::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| read_rule(file, item, &format!("#{}", i + 1), None, &plain))
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err(LoadError::new(file, "\"Rules\" must be a list")),
            };
            match root.get("Targets") {
                None => {}
                Some(Node::Array(requests)) => {
                    for request in requests {
                        attach_targets(file, request, &mut rules, &plain)?;
                    }
                }
                Some(_) => {
                    return Err(LoadError::new(
                        file,
                        "\"Targets\" must be a list of PutTargets requests",
                    ));
                }
            }
            Ok(rules)
        }
        Node::Object(_) if root.get("Name").is_some() => {
            Ok(vec![read_rule(file, &root, "#1", None, &plain)?])
        }
        _ => Err(LoadError::new(
            file,
            "expected a list of rules, {\"Rules\": [...]}, a PutRule request, or a CloudFormation template",
        )),
    }
}

/// Reads the archives a file declares: a top-level `"Archives"` list of
/// CreateArchive requests (`ArchiveName`, `EventSourceArn` or
/// `EventBusName`, `EventPattern`, `RetentionDays`), or the
/// `AWS::Events::Archive` resources of a template. A file without any
/// declares none.
///
/// ```
/// use sluice_router::{load, model::Environment};
/// let text = r#"{"Rules": [], "Archives": [{"ArchiveName": "all-images",
///     "EventSourceArn": "arn:aws:events:us-east-1:123456789012:event-bus/default",
///     "EventPattern": {"source": ["aws.imagebuilder"]}, "RetentionDays": 30}]}"#;
/// let archives = load::parse_archives("rules.json", text, &Default::default(), &Environment::default()).unwrap();
/// assert_eq!(archives[0].bus, "default");
/// ```
pub fn parse_archives(
    file: &str,
    text: &str,
    parameters: &Parameters,
    environment: &Environment,
) -> Result<Vec<crate::archive::ArchiveDefinition>, LoadError> {
    let json = to_json_text(file, text)?;
    let root = Node::parse(&json).map_err(|e| LoadError::new(file, e.to_string()))?;
    let mut declared: Vec<(String, &Node<'_>, &str, &str)> = Vec::new();
    if let Some(Node::Array(items)) = root.get("Archives") {
        for (i, item) in items.iter().enumerate() {
            declared.push((format!("Archives[{i}]"), item, "EventSourceArn", ""));
        }
    }
    let resources = root.get("Resources");
    if let Some(Node::Object(members)) = resources {
        for (logical_id, resource) in members {
            if let (Some(Node::String(kind)), Some(properties)) =
                (resource.get("Type"), resource.get("Properties"))
                && decode_str(kind) == "AWS::Events::Archive"
            {
                declared.push((
                    decode_str(logical_id).into_owned(),
                    properties,
                    "SourceArn",
                    "template",
                ));
            }
        }
    }
    let resolver = Resolver {
        parameters,
        environment,
        resources,
    };
    let mut archives = Vec::new();
    for (label, node, source_field, origin) in declared {
        let fields = Fields {
            file,
            rule: label.clone(),
            prefix: String::new(),
            node,
            resolver: &resolver,
        };
        fields.only(ARCHIVE_MEMBERS)?;
        let name = match fields.string("ArchiveName")? {
            Some(name) => name,
            None if origin == "template" => label.clone(),
            None => return Err(fields.error("ArchiveName", "an archive needs ArchiveName")),
        };
        let bus = match (fields.string(source_field)?, fields.string("EventBusName")?) {
            (Some(arn), _) => match arn.split_once(":event-bus/") {
                Some((_, bus)) => bus.to_string(),
                None => {
                    return Err(fields.error(
                        source_field,
                        format!("{arn} is not an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)"),
                    ));
                }
            },
            (None, Some(bus)) => bus,
            (None, None) => crate::model::DEFAULT_BUS.to_string(),
        };
        let pattern = fields.json_text("EventPattern")?;
        let retention = fields.integer("RetentionDays")?.unwrap_or(0);
        let archive =
            crate::archive::ArchiveDefinition::new(&name, &bus, pattern.as_deref(), retention)
                .map_err(|e| {
                    LoadError::new(file, format!("{}: {}", e.code(), e.message())).in_rule(&label)
                })?;
        archives.push(archive);
    }
    Ok(archives)
}

/// Converts YAML (or JSON) text to JSON text. JSON is passed through as is,
/// so pattern numbers keep their exact text.
fn to_json_text(file: &str, text: &str) -> Result<String, LoadError> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('[')) && Node::parse(text).is_ok() {
        return Ok(text.to_string());
    }
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
        .map_err(|e| LoadError::new(file, format!("neither JSON nor YAML: {e}")))?;
    let json = yaml_to_json(value).map_err(|m| LoadError::new(file, m))?;
    Ok(json.to_string())
}

fn yaml_to_json(value: serde_yaml_ng::Value) -> Result<serde_json::Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match value {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => serde_json::Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| format!("the number {n} has no JSON form"))?
            }
        }
        Y::String(s) => serde_json::Value::String(s),
        Y::Sequence(items) => serde_json::Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(value)?);
            }
            serde_json::Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let inner = yaml_to_json(tagged.value)?;
            let (name, inner) = match tag {
                "Ref" => ("Ref".to_string(), inner),
                "GetAtt" => {
                    let inner = match inner {
                        serde_json::Value::String(s) => match s.split_once('.') {
                            Some((resource, attribute)) => serde_json::json!([resource, attribute]),
                            None => serde_json::Value::String(s),
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), inner)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut out = serde_json::Map::new();
            out.insert(name, inner);
            serde_json::Value::Object(out)
        }
    })
}

/// Resolves template intrinsics to strings.
struct Resolver<'r> {
    parameters: &'r Parameters,
    environment: &'r Environment,
    /// Template resources by logical id (templates only).
    resources: Option<&'r Node<'r>>,
}

impl Resolver<'_> {
    fn lookup(&self, name: &str) -> Result<String, String> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.to_string());
        }
        match name {
            "AWS::Region" => return Ok(self.environment.region.clone()),
            "AWS::AccountId" => return Ok(self.environment.account.clone()),
            "AWS::Partition" => return Ok("aws".to_string()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_string()),
            _ => {}
        }
        if let Some(resources) = self.resources {
            let (logical, attribute) = match name.split_once('.') {
                Some((l, a)) => (l, Some(a)),
                None => (name, None),
            };
            if let Some(resource) = resources.get(logical)
                && let Some(value) = self.resource_value(resource, attribute)
            {
                return Ok(value);
            }
        }
        Err(format!(
            "cannot resolve {name}: give its value in the parameters file (a template parameter by name, a resource attribute as LogicalId.Attribute)"
        ))
    }

    /// `Ref` (no attribute) or `Fn::GetAtt X.Arn` of a template resource whose
    /// name is written in the template.
    fn resource_value(&self, resource: &Node<'_>, attribute: Option<&str>) -> Option<String> {
        let Some(Node::String(kind)) = resource.get("Type") else {
            return None;
        };
        let properties = resource.get("Properties")?;
        let prop = |name: &str| match properties.get(name) {
            Some(Node::String(raw)) => Some(decode_str(raw).into_owned()),
            _ => None,
        };
        let (region, account) = (&self.environment.region, &self.environment.account);
        let arn = match decode_str(kind).as_ref() {
            "AWS::SQS::Queue" => format!("arn:aws:sqs:{region}:{account}:{}", prop("QueueName")?),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{region}:{account}:{}", prop("TopicName")?),
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => format!(
                "arn:aws:lambda:{region}:{account}:function:{}",
                prop("FunctionName")?
            ),
            "AWS::Kinesis::Stream" => {
                format!(
                    "arn:aws:kinesis:{region}:{account}:stream/{}",
                    prop("Name")?
                )
            }
            "AWS::StepFunctions::StateMachine" | "AWS::Serverless::StateMachine" => format!(
                "arn:aws:states:{region}:{account}:stateMachine:{}",
                prop(if decode_str(kind).starts_with("AWS::Serverless") {
                    "Name"
                } else {
                    "StateMachineName"
                })?
            ),
            "AWS::Events::EventBus" if attribute.is_none() => return prop("Name"),
            _ => return None,
        };
        match attribute {
            Some("Arn") => Some(arn),
            // Ref of a topic or a state machine is its ARN.
            None if arn.starts_with("arn:aws:sns:") || arn.starts_with("arn:aws:states:") => {
                Some(arn)
            }
            None => Some(arn.rsplit([':', '/']).next()?.to_string()),
            Some(_) => None,
        }
    }

    /// A string value, resolving `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join`.
    fn string(&self, node: &Node<'_>) -> Result<String, String> {
        match node {
            Node::String(raw) => Ok(decode_str(raw).into_owned()),
            Node::Object(members) if members.len() == 1 => {
                let (key, arg) = &members[0];
                match (decode_str(key).as_ref(), arg) {
                    ("Ref", Node::String(name)) => self.lookup(&decode_str(name)),
                    ("Fn::GetAtt", Node::Array(parts)) if parts.len() == 2 => {
                        let resource = self.string(&parts[0])?;
                        let attribute = self.string(&parts[1])?;
                        self.lookup(&format!("{resource}.{attribute}"))
                    }
                    ("Fn::GetAtt", Node::String(dotted)) => self.lookup(&decode_str(dotted)),
                    ("Fn::Sub", Node::String(template)) => {
                        self.substitute(&decode_str(template), &HashMap::new())
                    }
                    ("Fn::Sub", Node::Array(parts)) if parts.len() == 2 => {
                        let template = self.string(&parts[0])?;
                        let Node::Object(vars) = &parts[1] else {
                            return Err("Fn::Sub variables must be an object".to_string());
                        };
                        let mut local = HashMap::new();
                        for (name, value) in vars {
                            local.insert(decode_str(name).into_owned(), self.string(value)?);
                        }
                        self.substitute(&template, &local)
                    }
                    ("Fn::Join", Node::Array(parts)) if parts.len() == 2 => {
                        let separator = self.string(&parts[0])?;
                        let Node::Array(items) = &parts[1] else {
                            return Err("Fn::Join needs a list".to_string());
                        };
                        let items: Vec<String> = items
                            .iter()
                            .map(|i| self.string(i))
                            .collect::<Result<_, _>>()?;
                        Ok(items.join(&separator))
                    }
                    (name, _) => Err(format!("expected a string; {name} is not supported here")),
                }
            }
            _ => Err("expected a string".to_string()),
        }
    }

    fn substitute(
        &self,
        template: &str,
        local: &HashMap<String, String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let Some(end) = after.find('}') else {
                return Err(format!("unterminated ${{ in Fn::Sub string {template:?}"));
            };
            let name = &after[..end];
            match local.get(name) {
                Some(value) => out.push_str(value),
                None => out.push_str(&self.lookup(name)?),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn read_template(
    file: &str,
    root: &Node<'_>,
    parameters: &Parameters,
    environment: &Environment,
) -> Result<Vec<RuleDefinition>, LoadError> {
    let Some(resources @ Node::Object(members)) = root.get("Resources") else {
        return Err(LoadError::new(file, "\"Resources\" must be an object"));
    };
    // Template parameter defaults apply unless the parameters file says otherwise.
    let mut merged = parameters.clone();
    if let Some(Node::Object(declared)) = root.get("Parameters") {
        for (name, declaration) in declared {
            let name = decode_str(name);
            if merged.get(&name).is_none()
                && let Some(default) = declaration.get("Default")
            {
                let value = match default {
                    Node::String(raw) => decode_str(raw).into_owned(),
                    other => other.to_json(),
                };
                merged.insert(name.into_owned(), value);
            }
        }
    }
    let resolver = Resolver {
        parameters: &merged,
        environment,
        resources: Some(resources),
    };
    let mut rules = Vec::new();
    for (logical_id, resource) in members {
        let logical_id = decode_str(logical_id);
        let kind = match resource.get("Type") {
            Some(Node::String(raw)) => decode_str(raw),
            _ => continue,
        };
        if kind != "AWS::Events::Rule" {
            continue;
        }
        let Some(properties) = resource.get("Properties") else {
            return Err(LoadError::new(file, "has no Properties").in_rule(&logical_id));
        };
        rules.push(read_rule(
            file,
            properties,
            &logical_id,
            Some(&logical_id),
            &resolver,
        )?);
    }
    for (logical_id, resource) in members {
        let logical_id = decode_str(logical_id);
        rules.extend(read_sam_events(file, &logical_id, resource, &resolver)?);
    }
    if rules.is_empty() {
        return Err(LoadError::new(
            file,
            "the template has no AWS::Events::Rule resource and no SAM EventBridgeRule event",
        ));
    }
    Ok(rules)
}

/// The rules SAM makes for a function's or state machine's events of type
/// `EventBridgeRule` (or its older name `CloudWatchEvent`): each targets
/// the resource itself. Rule names are `RuleName`, else the resource's
/// logical id followed by the event's name; target ids are `Target.Id`,
/// else that name followed by `LambdaTarget` or `StepFunctionsTarget`, as
/// SAM names them.
fn read_sam_events(
    file: &str,
    logical_id: &str,
    resource: &Node<'_>,
    resolver: &Resolver<'_>,
) -> Result<Vec<RuleDefinition>, LoadError> {
    let target_suffix = match resource.get("Type") {
        Some(Node::String(kind)) if decode_str(kind) == "AWS::Serverless::Function" => {
            "LambdaTarget"
        }
        Some(Node::String(kind)) if decode_str(kind) == "AWS::Serverless::StateMachine" => {
            "StepFunctionsTarget"
        }
        _ => return Ok(Vec::new()),
    };
    let Some(Node::Object(events)) = resource.get("Properties").and_then(|p| p.get("Events"))
    else {
        return Ok(Vec::new());
    };
    let mut rules = Vec::new();
    for (event_name, event) in events {
        let event_name = decode_str(event_name);
        let kind = match event.get("Type") {
            Some(Node::String(kind)) => decode_str(kind).into_owned(),
            _ => continue,
        };
        if kind != "EventBridgeRule" && kind != "CloudWatchEvent" {
            continue;
        }
        let label = format!("{logical_id}{event_name}");
        let empty = Node::Object(Vec::new());
        let properties = Fields {
            file,
            rule: label.clone(),
            prefix: format!("Events.{event_name}.Properties."),
            node: event.get("Properties").unwrap_or(&empty),
            resolver,
        };
        let arn = resolver
            .lookup(&format!("{logical_id}.Arn"))
            .map_err(|m| properties.error("Target", m))?;
        let target_id = match properties.object("Target")? {
            Some(target) => target.string("Id")?,
            None => None,
        }
        .unwrap_or_else(|| format!("{label}{target_suffix}"));
        let mut target = TargetDefinition {
            id: target_id,
            arn,
            input: properties.json_text("Input")?,
            input_path: properties.string("InputPath")?,
            ..Default::default()
        };
        if let Some(transformer) = properties.object("InputTransformer")? {
            target.input_template = transformer.string("InputTemplate")?;
            if let Some(Node::Object(members)) = transformer.node.get("InputPathsMap") {
                let mut paths = Vec::with_capacity(members.len());
                for (key, value) in members {
                    let path = resolver
                        .string(value)
                        .map_err(|m| transformer.error("InputPathsMap", m))?;
                    paths.push((decode_str(key).into_owned(), path));
                }
                target.input_paths_map = Some(paths);
            }
        }
        if let Some(retry) = properties.object("RetryPolicy")? {
            target.maximum_retry_attempts = retry.integer("MaximumRetryAttempts")?;
            target.maximum_event_age_in_seconds = retry.integer("MaximumEventAgeInSeconds")?;
        }
        if let Some(dlq) = properties.object("DeadLetterConfig")? {
            target.dead_letter_arn = Some(dlq.string("Arn")?.ok_or_else(|| {
                dlq.error(
                    "Arn",
                    "a dead-letter queue SAM would create (Type: SQS) does not exist here; give its Arn",
                )
            })?);
        }
        let state = match properties.string("State")? {
            Some(state) => Some(state),
            None => match event.get("Properties").and_then(|p| p.get("Enabled")) {
                Some(Node::Scalar("false")) => Some("DISABLED".to_string()),
                _ => None,
            },
        };
        rules.push(RuleDefinition {
            name: properties.string("RuleName")?.unwrap_or(label),
            event_bus_name: properties.string("EventBusName")?,
            event_pattern: properties.json_text("Pattern")?,
            schedule_expression: None,
            state,
            description: None,
            role_arn: None,
            targets: vec![target],
        });
    }
    Ok(rules)
}

/// Field access over one JSON object, with errors that name the field.
/// The members a rule may have: PutRule's, ListRules' `Rule`, and `Targets`.
const RULE_MEMBERS: &[&str] = &[
    "Name",
    "ScheduleExpression",
    "EventPattern",
    "State",
    "Description",
    "RoleArn",
    "Tags",
    "EventBusName",
    "Targets",
    "Arn",
    "ManagedBy",
];

/// The members of a `Target`, in the API model's order.
const TARGET_MEMBERS: &[&str] = &[
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "KinesisParameters",
    "RunCommandParameters",
    "EcsParameters",
    "BatchParameters",
    "SqsParameters",
    "HttpParameters",
    "RedshiftDataParameters",
    "SageMakerPipelineParameters",
    "DeadLetterConfig",
    "RetryPolicy",
    "AppSyncParameters",
];

/// The members of a PutTargets request.
const PUT_TARGETS_MEMBERS: &[&str] = &["Rule", "EventBusName", "Targets"];

/// The members of a CreateArchive request, with a template's `SourceArn`
/// and a plain `EventBusName` as this loader also takes them.
const ARCHIVE_MEMBERS: &[&str] = &[
    "ArchiveName",
    "EventSourceArn",
    "Description",
    "EventPattern",
    "RetentionDays",
    "KmsKeyIdentifier",
    "SourceArn",
    "EventBusName",
];

/// The top-level members of a `{"Rules": [...]}` file.
const FILE_MEMBERS: &[&str] = &["Rules", "Targets", "Archives", "NextToken"];

/// The first member of an object that is not one of `members`.
fn unknown_member<'t>(node: &Node<'t>, members: &[&str]) -> Option<std::borrow::Cow<'t, str>> {
    let Node::Object(entries) = node else {
        return None;
    };
    entries
        .iter()
        .map(|(key, _)| decode_str(key))
        .find(|key| !members.contains(&key.as_ref()))
}

/// A misspelt or unknown member, in the AWS CLI's words (`Unknown
/// parameter in Targets[0]: "InputPth", must be one of: …`). `at` is the
/// object's path; the empty path is the request itself.
fn unknown_parameter(at: &str, key: &str, members: &[&str]) -> String {
    format!(
        "Unknown parameter in {}: \"{key}\", must be one of: {}",
        if at.is_empty() { "input" } else { at },
        members.join(", ")
    )
}

struct Fields<'n, 'a, 'r> {
    file: &'n str,
    rule: String,
    prefix: String,
    node: &'n Node<'a>,
    resolver: &'n Resolver<'r>,
}

impl<'n, 'a, 'r> Fields<'n, 'a, 'r> {
    fn error(&self, field: &str, message: impl Into<String>) -> LoadError {
        LoadError::new(self.file, message)
            .in_rule(&self.rule)
            .at_field(&format!("{}{field}", self.prefix))
    }

    /// Refuses a member outside `members`, so a misspelt field is an
    /// error rather than silently ignored. In a template the words are
    /// CloudFormation's, elsewhere the AWS CLI's.
    fn only(&self, members: &[&str]) -> Result<(), LoadError> {
        let Some(key) = unknown_member(self.node, members) else {
            return Ok(());
        };
        let at = self.prefix.strip_suffix('.').unwrap_or_default();
        let error = LoadError::new(self.file, "").in_rule(&self.rule);
        Err(match self.resolver.resources {
            Some(_) => {
                let error = LoadError {
                    message: format!("Encountered unsupported property {key}"),
                    ..error
                };
                if at.is_empty() {
                    error
                } else {
                    error.at_field(at)
                }
            }
            None => LoadError {
                message: unknown_parameter(at, &key, members),
                ..error
            },
        })
    }

    fn string(&self, field: &str) -> Result<Option<String>, LoadError> {
        match self.node.get(field) {
            None | Some(Node::Scalar("null")) => Ok(None),
            Some(node) => self
                .resolver
                .string(node)
                .map(Some)
                .map_err(|m| self.error(field, m)),
        }
    }

    fn integer(&self, field: &str) -> Result<Option<i64>, LoadError> {
        match self.node.get(field) {
            None | Some(Node::Scalar("null")) => Ok(None),
            Some(Node::Scalar(text)) => text
                .parse()
                .map(Some)
                .map_err(|_| self.error(field, "expected an integer")),
            Some(Node::String(raw)) => decode_str(raw)
                .parse()
                .map(Some)
                .map_err(|_| self.error(field, "expected an integer")),
            Some(_) => Err(self.error(field, "expected an integer")),
        }
    }

    fn object(&self, field: &str) -> Result<Option<Fields<'n, 'a, 'r>>, LoadError> {
        match self.node.get(field) {
            None | Some(Node::Scalar("null")) => Ok(None),
            Some(node @ Node::Object(_)) => Ok(Some(Fields {
                file: self.file,
                rule: self.rule.clone(),
                prefix: format!("{}{field}.", self.prefix),
                node,
                resolver: self.resolver,
            })),
            Some(_) => Err(self.error(field, "expected an object")),
        }
    }

    /// A list of objects, each with its own field access.
    fn objects(&self, field: &str) -> Result<Option<Vec<Fields<'n, 'a, 'r>>>, LoadError> {
        match self.node.get(field) {
            None | Some(Node::Scalar("null")) => Ok(None),
            Some(Node::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, node)| match node {
                    Node::Object(_) => Ok(Fields {
                        file: self.file,
                        rule: self.rule.clone(),
                        prefix: format!("{}{field}[{i}].", self.prefix),
                        node,
                        resolver: self.resolver,
                    }),
                    _ => Err(self.error(field, "expected a list of objects")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.error(field, "expected a list of objects")),
        }
    }

    /// A list of strings (each may be an intrinsic function).
    fn strings(&self, field: &str) -> Result<Option<Vec<String>>, LoadError> {
        match self.node.get(field) {
            None | Some(Node::Scalar("null")) => Ok(None),
            Some(Node::Array(items)) => items
                .iter()
                .map(|node| self.resolver.string(node).map_err(|m| self.error(field, m)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.error(field, "expected a list of strings")),
        }
    }

    /// A JSON document given as a string or written inline (EventPattern, Input).
    fn json_text(&self, field: &str) -> Result<Option<String>, LoadError> {
        match self.node.get(field) {
            None | Some(Node::Scalar("null")) => Ok(None),
            Some(Node::String(raw)) => Ok(Some(decode_str(raw).into_owned())),
            Some(node) => {
                let mut text = node.to_json();
                text.shrink_to_fit();
                Ok(Some(text))
            }
        }
    }
}

fn read_rule(
    file: &str,
    node: &Node<'_>,
    label: &str,
    default_name: Option<&str>,
    resolver: &Resolver<'_>,
) -> Result<RuleDefinition, LoadError> {
    if !matches!(node, Node::Object(_)) {
        return Err(LoadError::new(file, "a rule must be an object").in_rule(label));
    }
    let mut fields = Fields {
        file,
        rule: label.to_string(),
        prefix: String::new(),
        node,
        resolver,
    };
    let name = match fields.string("Name")? {
        Some(name) => name,
        None => match default_name {
            Some(name) => name.to_string(),
            None => return Err(fields.error("Name", "a rule needs a Name")),
        },
    };
    fields.rule = name.clone();
    fields.only(RULE_MEMBERS)?;
    let mut definition = RuleDefinition {
        name,
        event_bus_name: fields.string("EventBusName")?,
        event_pattern: fields.json_text("EventPattern")?,
        schedule_expression: fields.string("ScheduleExpression")?,
        state: fields.string("State")?,
        description: fields.string("Description")?,
        role_arn: fields.string("RoleArn")?,
        targets: Vec::new(),
    };
    match node.get("Targets") {
        None | Some(Node::Scalar("null")) => {}
        Some(Node::Array(items)) => {
            definition.targets.reserve_exact(items.len());
            for (i, item) in items.iter().enumerate() {
                definition.targets.push(read_target(&fields, item, i)?);
            }
        }
        Some(_) => return Err(fields.error("Targets", "expected a list of targets")),
    }
    Ok(definition)
}

fn read_target(
    rule: &Fields<'_, '_, '_>,
    node: &Node<'_>,
    index: usize,
) -> Result<TargetDefinition, LoadError> {
    let field = format!("Targets[{index}]");
    if !matches!(node, Node::Object(_)) {
        return Err(rule.error(&field, "a target must be an object"));
    }
    let fields = Fields {
        file: rule.file,
        rule: rule.rule.clone(),
        prefix: format!("{field}."),
        node,
        resolver: rule.resolver,
    };
    fields.only(TARGET_MEMBERS)?;
    let required = |name: &str| -> Result<String, LoadError> {
        fields
            .string(name)?
            .ok_or_else(|| fields.error(name, format!("a target needs {name}")))
    };
    let mut target = TargetDefinition {
        id: required("Id")?,
        arn: required("Arn")?,
        role_arn: fields.string("RoleArn")?,
        input: fields.json_text("Input")?,
        input_path: fields.string("InputPath")?,
        ..Default::default()
    };
    if let Some(transformer) = fields.object("InputTransformer")? {
        transformer.only(&["InputPathsMap", "InputTemplate"])?;
        target.input_template = transformer.string("InputTemplate")?;
        if let Some(map) = transformer.object("InputPathsMap")? {
            let members = match map.node {
                Node::Object(members) => members.as_slice(),
                _ => &[],
            };
            let mut paths = Vec::with_capacity(members.len());
            for (key, _) in members {
                let key = decode_str(key).into_owned();
                let value = map
                    .string(&key)?
                    .ok_or_else(|| map.error(&key, "expected a JSONPath string"))?;
                paths.push((key, value));
            }
            target.input_paths_map = Some(paths);
        }
    }
    if let Some(retry) = fields.object("RetryPolicy")? {
        retry.only(&["MaximumRetryAttempts", "MaximumEventAgeInSeconds"])?;
        target.maximum_retry_attempts = retry.integer("MaximumRetryAttempts")?;
        target.maximum_event_age_in_seconds = retry.integer("MaximumEventAgeInSeconds")?;
    }
    if let Some(dlq) = fields.object("DeadLetterConfig")? {
        dlq.only(&["Arn"])?;
        target.dead_letter_arn = dlq.string("Arn")?;
    }
    if let Some(kinesis) = fields.object("KinesisParameters")? {
        kinesis.only(&["PartitionKeyPath"])?;
        target.partition_key_path =
            Some(kinesis.string("PartitionKeyPath")?.ok_or_else(|| {
                kinesis.error("PartitionKeyPath", "required in KinesisParameters")
            })?);
    }
    if let Some(sqs) = fields.object("SqsParameters")? {
        sqs.only(&["MessageGroupId"])?;
        target.message_group_id = sqs.string("MessageGroupId")?;
    }
    if let Some(run_command) = fields.object("RunCommandParameters")? {
        run_command.only(&["RunCommandTargets"])?;
        let blocks = run_command.objects("RunCommandTargets")?.ok_or_else(|| {
            run_command.error("RunCommandTargets", "required in RunCommandParameters")
        })?;
        let mut targets = Vec::with_capacity(blocks.len());
        for block in blocks {
            block.only(&["Key", "Values"])?;
            let key = block
                .string("Key")?
                .ok_or_else(|| block.error("Key", "required in a RunCommandTarget"))?;
            let values = block
                .strings("Values")?
                .ok_or_else(|| block.error("Values", "required in a RunCommandTarget"))?;
            targets.push((key, values));
        }
        target.run_command_targets = Some(targets);
    }
    Ok(target)
}

/// Adds the targets of one PutTargets request to the rule it names.
fn attach_targets(
    file: &str,
    request: &Node<'_>,
    rules: &mut [RuleDefinition],
    resolver: &Resolver<'_>,
) -> Result<(), LoadError> {
    let fields = Fields {
        file,
        rule: "?".to_string(),
        prefix: String::new(),
        node: request,
        resolver,
    };
    fields.only(PUT_TARGETS_MEMBERS)?;
    let Some(rule_name) = fields.string("Rule")? else {
        return Err(LoadError::new(file, "a PutTargets request needs \"Rule\"").at_field("Targets"));
    };
    let bus = fields.string("EventBusName")?;
    let Some(rule) = rules.iter_mut().find(|r| {
        r.name == rule_name
            && r.event_bus_name.as_deref().unwrap_or("default")
                == bus.as_deref().unwrap_or("default")
    }) else {
        return Err(LoadError::new(
            file,
            format!(
                "Rule {rule_name} does not exist on EventBus {}.",
                bus.as_deref().unwrap_or("default")
            ),
        )
        .in_rule(&rule_name));
    };
    let rule_fields = Fields {
        rule: rule_name.clone(),
        ..fields
    };
    let Some(Node::Array(items)) = request.get("Targets") else {
        return Err(rule_fields.error("Targets", "expected a list of targets"));
    };
    for (i, item) in items.iter().enumerate() {
        rule.targets.push(read_target(&rule_fields, item, i)?);
    }
    Ok(())
}
