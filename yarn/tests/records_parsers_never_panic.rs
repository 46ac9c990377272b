//! Parsers of untrusted text — id strings, resource URIs, site files — return errors, never panic.

use proptest::prelude::*;
use yarn::conf::{Configuration, HostPort};
use yarn::records::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, ResourceUrl};

proptest! {
    #[test]
    fn id_and_url_parsers(s in "\\PC{0,40}", tail in "[0-9e_:/%\\[\\]@]{0,30}") {
        for text in [s.clone(), format!("container_{tail}"), format!("application_{tail}"), format!("hdfs://{tail}")] {
            let _ = text.parse::<ContainerId>();
            let _ = text.parse::<ApplicationId>();
            let _ = text.parse::<ApplicationAttemptId>();
            let _ = text.parse::<NodeId>();
            let _ = ResourceUrl::parse(&text);
            let _ = HostPort::parse_with_default(&text, 1);
        }
    }

    #[test]
    fn container_ids_round_trip(ts in 0i64..=i64::MAX, app in 0i32..=i32::MAX, attempt in 0i32..=i32::MAX,
                                epoch in 0i64..(1 << 23), seq in 0i64..(1 << 40)) {
        let id = ContainerId::with_epoch(ApplicationAttemptId::new(ApplicationId::new(ts, app), attempt), epoch, seq);
        prop_assert_eq!(id.to_string().parse::<ContainerId>().unwrap(), id);
    }

    #[test]
    fn site_file_parser(body in "\\PC{0,200}", frag in "(<property>|</property>|<name>|</name>|<value>|</value>|<final>true</final>|&amp;|&#|<!\\[CDATA\\[|\\]\\]>|x|\\$\\{x\\}|\n){0,30}") {
        let mut c = Configuration::new();
        let _ = c.add_resource_str(&body, "a.xml");
        let doc = format!("<configuration>{frag}</configuration>");
        if c.add_resource_str(&doc, "b.xml").is_ok() {
            let _ = c.get("x");
        }
    }
}
