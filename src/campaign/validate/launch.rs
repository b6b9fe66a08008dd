//! The launch-safety settings of SPEC §6: `pages[].daily_limit` and
//! `send.canary`. The schema checks their ranges; what is left here is what
//! needs both of them, or a judgement about a value the schema allows.

use super::Validator;
use crate::campaign::Canary;

impl Validator<'_> {
    /// The canary of `send.canary`, with warnings for one that cannot work
    /// as meant.
    pub(super) fn canary(&mut self) -> Option<Canary> {
        let spec = self.raw.send.as_ref()?.canary?;
        let canary = Canary { recipients: spec.recipients, max_failure_rate: spec.max_failure_rate };
        if canary.max_failure_rate >= 1.0 {
            self.warn(
                "/send/canary/max_failure_rate",
                "a max_failure_rate of 1 lets every canary pass, so the canary never stops a run",
                "use a small share such as 0.05 (5% of the first wave may fail)",
            );
        }
        if let Some(cap) = self.total_daily_limit()
            && u64::from(canary.recipients) > cap
        {
            self.warn(
                "/send/canary/recipients",
                format!(
                    "the canary wave ({} recipients) is larger than the pages' daily limits together ({cap})",
                    canary.recipients
                ),
                "make the canary smaller than a day's cap, or the first wave cannot finish in one run",
            );
        }
        Some(canary)
    }

    /// The sum of the pages' daily limits when every page has one.
    fn total_daily_limit(&self) -> Option<u64> {
        self.raw.pages.iter().map(|p| p.daily_limit.map(u64::from)).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{DateTime, Utc};

    use crate::campaign::load::load_bytes;
    use crate::campaign::{Campaign, Canary, Diagnostic, validate};

    const CAMPAIGN: &str = "version: 1\nid: a\npages:\n  - { id: \"5\", provider: graph, token_env: T, daily_limit: 100 }\n  - { id: \"6\", provider: graph, token_env: U }\naudiences:\n  - page: \"5\"\n    recipients: [{ id: \"1\" }]\nmessage: { text: hi }\nmessaging_type: UPDATE\n";

    fn check(text: &str) -> Result<Campaign, Vec<Diagnostic>> {
        let loaded = load_bytes(Path::new("c.yaml"), text.as_bytes()).unwrap();
        validate(&loaded, DateTime::<Utc>::UNIX_EPOCH)
    }

    fn warnings(text: &str) -> Vec<String> {
        check(text).unwrap().warnings.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_validated_campaign_carries_the_daily_limits_and_the_canary() {
        let c =
            check(&format!("{CAMPAIGN}send: {{ canary: {{ recipients: 50, max_failure_rate: 0.05 }} }}\n")).unwrap();
        assert_eq!(c.pages.iter().map(|p| p.daily_limit).collect::<Vec<_>>(), [Some(100), None]);
        assert_eq!(c.send.canary, Some(Canary { recipients: 50, max_failure_rate: 0.05 }));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(check(CAMPAIGN).unwrap().send.canary, None);
    }

    #[test]
    fn a_canary_that_can_never_fail_is_a_warning() {
        let w = warnings(&format!("{CAMPAIGN}send: {{ canary: {{ recipients: 5, max_failure_rate: 1 }} }}\n"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("c.yaml:11:52: warning: send.canary.max_failure_rate: a max_failure_rate of 1"),
            "{w:?}"
        );
    }

    #[test]
    fn a_canary_over_every_pages_daily_limit_is_a_warning() {
        let capped = CAMPAIGN.replace("token_env: U }", "token_env: U, daily_limit: 20 }");
        let w = warnings(&format!("{capped}send: {{ canary: {{ recipients: 121, max_failure_rate: 0.1 }} }}\n"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("the canary wave (121 recipients) is larger than the pages' daily limits together (120)"),
            "{w:?}"
        );
        // A page without a cap: no warning, whatever the size.
        assert!(
            warnings(&format!("{CAMPAIGN}send: {{ canary: {{ recipients: 121, max_failure_rate: 0.1 }} }}\n"))
                .is_empty()
        );
    }
}
