//! A deterministic generator of EC2 Image Builder events in EventBridge
//! envelopes: image state changes, CVE detections, workflow steps waiting,
//! pipelines disabled, and CloudTrail API calls, in proportions like those
//! of a busy account, with event times increasing from a start time.

use std::fmt::Write;

/// A small, fast, seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

const REGIONS: &[&str] = &["us-east-1", "us-east-2", "eu-central-1", "ap-southeast-2"];
const ACCOUNTS: &[&str] = &["210987654321", "123456789012"];
const IMAGES: &[&str] = &[
    "web-base",
    "ml-gpu",
    "bastion-hardened",
    "batch-worker",
    "windows-iis",
    "al2023-minimal",
    "ci-runner",
    "db-proxy",
];
const STATES: &[&str] = &[
    "BUILDING",
    "TESTING",
    "DISTRIBUTING",
    "INTEGRATING",
    "AVAILABLE",
];
const STEPS: &[&str] = &["approval-gate", "security-review", "manual-smoke-test"];
const WRITE_CALLS: &[&str] = &[
    "StartImagePipelineExecution",
    "CreateImage",
    "SendWorkflowStepAction",
    "CancelImageCreation",
];
const READ_CALLS: &[&str] = &[
    "GetImage",
    "ListImages",
    "GetImagePipeline",
    "ListImagePipelines",
];

/// Seconds since the epoch as RFC 3339 UTC.
fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// `count` events from `start` (seconds since the epoch), one JSON object
/// per item, deterministic for a `seed`.
///
/// ```
/// let events: Vec<String> = sluice_benches::imagebuilder::events(7, 1_789_344_000, 3).collect();
/// assert_eq!(events.len(), 3);
/// assert!(events.iter().all(|e| e.contains(r#""source":"aws.imagebuilder""#)));
/// ```
pub fn events(seed: u64, start: i64, count: usize) -> impl Iterator<Item = String> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut time = start;
    (0..count).map(move |_| {
        time += rng.below(3) as i64;
        event(&mut rng, time)
    })
}

fn event(rng: &mut Rng, time: i64) -> String {
    let region = rng.pick(REGIONS);
    let account = rng.pick(ACCOUNTS);
    let image = rng.pick(IMAGES);
    let version = format!("{}.{}.{}", 1 + rng.below(3), rng.below(10), rng.below(5));
    let build = 1 + rng.below(40);
    let image_arn =
        format!("arn:aws:imagebuilder:{region}:{account}:image/{image}/{version}/{build}");
    let pipeline_arn =
        format!("arn:aws:imagebuilder:{region}:{account}:image-pipeline/{image}-nightly");
    let roll = rng.below(100);
    let (detail_type, resources, detail) = if roll < 55 {
        let step = rng.below(STATES.len() as u64 + 2) as usize;
        let (previous, state, reason) = match step {
            s if s < STATES.len() => (
                if s == 0 { "PENDING" } else { STATES[s - 1] },
                STATES[s],
                None,
            ),
            s if s == STATES.len() => (
                "TESTING",
                "FAILED",
                Some(format!(
                    "Test workflow step '{}' failed: exit code {}",
                    rng.pick(&["validate-drivers", "cis-benchmark", "smoke-test"]),
                    1 + rng.below(3)
                )),
            ),
            _ => (
                "BUILDING",
                "CANCELLED",
                Some("Image creation cancelled by user".to_string()),
            ),
        };
        let state = match reason {
            Some(reason) => format!(r#"{{"status":"{state}","reason":"{reason}"}}"#),
            None => format!(r#"{{"status":"{state}"}}"#),
        };
        (
            "EC2 Image Builder Image State Change",
            format!(r#"["{image_arn}"]"#),
            format!(r#"{{"previous-state":{{"status":"{previous}"}},"state":{state}}}"#),
        )
    } else if roll < 67 {
        let critical = if rng.below(4) == 0 { rng.below(4) } else { 0 };
        let high = rng.below(6);
        let medium = rng.below(12);
        (
            "EC2 Image Builder CVE Detected",
            format!(r#"["{image_arn}","{pipeline_arn}"]"#),
            format!(
                r#"{{"resource-id":"i-{:017x}","finding-severity-counts":{{"all":{},"critical":{critical},"high":{high},"medium":{medium}}}}}"#,
                rng.next() >> 4,
                critical + high + medium
            ),
        )
    } else if roll < 71 {
        let step = rng.pick(STEPS);
        (
            "EC2 Image Builder Workflow Step Waiting",
            format!(
                r#"["{image_arn}","arn:aws:imagebuilder:{region}:{account}:workflow/test/{step}/1.0.0/1"]"#
            ),
            format!(
                r#"{{"workflow-execution-id":"wf-{}","workflow-step-execution-id":"step-{}","workflow-step-name":"{step}"}}"#,
                rng.uuid(),
                rng.uuid()
            ),
        )
    } else if roll < 72 {
        (
            "EC2 Image Builder Image Pipeline Automatically Disabled",
            format!(r#"["{pipeline_arn}"]"#),
            format!(r#"{{"consecutive-failures":"{}"}}"#, 1 + rng.below(10)),
        )
    } else {
        let read_only = rng.below(10) < 6;
        let call = if read_only {
            rng.pick(READ_CALLS)
        } else {
            rng.pick(WRITE_CALLS)
        };
        let mut detail = String::with_capacity(1024);
        let _ = write!(
            detail,
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEID:ci-runner","arn":"arn:aws:sts::{account}:assumed-role/ci-deployer/ci-runner","accountId":"{account}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::{account}:role/ci-deployer","accountId":"{account}","userName":"ci-deployer"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}},"eventTime":"{}","eventSource":"imagebuilder.amazonaws.com","eventName":"{call}","awsRegion":"{region}","sourceIPAddress":"203.0.113.{}","userAgent":"aws-cli/2.17.0 Python/3.11.9","requestParameters":{{"imagePipelineArn":"{pipeline_arn}","clientToken":"{}"}},"responseElements":{},"requestID":"{}","eventID":"{}","readOnly":{read_only},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{account}","eventCategory":"Management"}}"#,
            rfc3339(time - 600),
            rfc3339(time),
            rng.below(255),
            rng.uuid(),
            if read_only {
                "null".to_string()
            } else {
                format!(
                    r#"{{"requestId":"{}","imageBuildVersionArn":"{image_arn}"}}"#,
                    rng.uuid()
                )
            },
            rng.uuid(),
            rng.uuid()
        );
        ("AWS API Call via CloudTrail", "[]".to_string(), detail)
    };
    format!(
        r#"{{"version":"0","id":"{}","detail-type":"{detail_type}","source":"aws.imagebuilder","account":"{account}","time":"{}","region":"{region}","resources":{resources},"detail":{detail}}}"#,
        rng.uuid(),
        rfc3339(time)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_valid_ordered_and_deterministic() {
        let a: Vec<String> = events(1, 1_789_344_000, 2000).collect();
        let b: Vec<String> = events(1, 1_789_344_000, 2000).collect();
        assert_eq!(a, b);
        let mut last = String::new();
        let mut kinds = std::collections::BTreeMap::new();
        for event in &a {
            let value: serde_json::Value = serde_json::from_str(event).expect("valid JSON");
            let time = value["time"].as_str().unwrap().to_string();
            assert!(time >= last);
            last = time;
            *kinds
                .entry(value["detail-type"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        assert_eq!(kinds.len(), 5, "{kinds:?}");
    }
}
