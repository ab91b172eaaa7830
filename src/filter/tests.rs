//! The parser on good and bad filters, and evaluation on built packets.

use super::*;
use crate::trace::Packet;
use crate::wire::TcpFlags;

fn parse(text: &str) -> Expr {
    DisplayFilter::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .expr
}

/// The error a filter gives, as the command line shows it.
fn error(text: &str) -> String {
    match DisplayFilter::parse(text) {
        Ok(f) => panic!("{text} parsed: {f:?}"),
        Err(e) => e.to_string(),
    }
}

fn cmp(field: Field, cmp: Cmp, value: Value) -> Expr {
    Expr::Test(Test::Compare { field, cmp, value })
}

#[test]
fn precedence_is_not_then_and_then_or_and_words_equal_symbols() {
    let port = cmp(Field::TcpPort, Cmp::Eq, Value::Unsigned(9000));
    let len = cmp(Field::TcpLen, Cmp::Gt, Value::Unsigned(0));
    let udp = Expr::Test(Test::Present(Field::Udp));
    let expected = Expr::Or(
        Box::new(Expr::And(Box::new(port.clone()), Box::new(len.clone()))),
        Box::new(Expr::Not(Box::new(udp.clone()))),
    );
    assert_eq!(parse("tcp.port == 9000 && tcp.len > 0 || !udp"), expected);
    assert_eq!(
        parse("tcp.port eq 9000 and tcp.len gt 0 or not udp"),
        expected
    );
    assert_eq!(
        parse("tcp.port == 9000 && (tcp.len > 0 || !udp)"),
        Expr::And(
            Box::new(port),
            Box::new(Expr::Or(Box::new(len), Box::new(Expr::Not(Box::new(udp)))))
        )
    );
}

#[test]
fn values_are_read_as_their_fields_type() {
    assert_eq!(
        parse("tcp.port == 0x2328"),
        cmp(Field::TcpPort, Cmp::Eq, Value::Unsigned(9000))
    );
    assert_eq!(
        parse("tcp.flags.syn == 1"),
        cmp(Field::TcpFlagsSyn, Cmp::Eq, Value::Bool(true))
    );
    assert_eq!(
        parse("ip.addr == 127.0.0.1"),
        cmp(
            Field::IpAddr,
            Cmp::Eq,
            Value::Addr {
                addr: "127.0.0.1".parse().unwrap(),
                prefix: 32
            }
        )
    );
    assert_eq!(
        parse("ipv6.src == fe80::/10"),
        cmp(
            Field::Ipv6Src,
            Cmp::Eq,
            Value::Addr {
                addr: "fe80::".parse().unwrap(),
                prefix: 10
            }
        )
    );
    assert_eq!(
        parse(r#"tcp.payload contains "fe\x6eg""#),
        Expr::Test(Test::Contains {
            field: Field::TcpPayload,
            bytes: b"feng".to_vec()
        })
    );
    assert_eq!(
        parse("tcp.payload contains 66:65"),
        parse(r#"tcp.payload contains "fe""#)
    );
    assert_eq!(
        parse("frame.number in {1, 3 5..7}"),
        Expr::Test(Test::In {
            field: Field::FrameNumber,
            set: vec![
                SetItem::One(Value::Unsigned(1)),
                SetItem::One(Value::Unsigned(3)),
                SetItem::Range(Value::Unsigned(5), Value::Unsigned(7)),
            ]
        })
    );
}

#[test]
fn syntax_errors_name_what_was_expected_and_the_column() {
    assert_eq!(
        error("tcp.port == "),
        "column 13: expected a value after '==', found end of filter"
    );
    assert_eq!(
        error("tcp.port == 9000 &&"),
        "column 20: expected a field, '!' or '(', found end of filter"
    );
    assert_eq!(
        error("(udp || tcp"),
        "column 12: expected ')', found end of filter"
    );
    assert_eq!(
        error("udp tcp"),
        "column 5: expected '&&', '||' or the end of the filter, found `tcp`"
    );
    assert_eq!(
        error(""),
        "column 1: expected a field or '(', found end of filter"
    );
    assert_eq!(
        error("tcp.port = 80"),
        "column 10: '=' is not an operator: write '==' to compare"
    );
    assert_eq!(
        error(r#"tcp.payload contains "feng"#),
        "column 22: this string has no closing '\"'"
    );
    assert_eq!(
        error("frame.number in {}"),
        "column 18: expected a value after '{', found '}'"
    );
}

#[test]
fn unknown_fields_suggest_the_closest_and_analysis_fields_are_not_yet() {
    assert_eq!(
        error("tcp.prot == 80"),
        "column 1: unknown field `tcp.prot`; did you mean `tcp.port`?"
    );
    assert_eq!(
        error("udp && tcp.flgs.syn == 1"),
        "column 8: unknown field `tcp.flgs.syn`; did you mean `tcp.flags.syn`?"
    );
    assert!(error("http.request").contains("`lab inspect --help` lists the fields"));
    assert_eq!(
        error("tcp.analysis.ack_rtt"),
        "column 1: `tcp.analysis.ack_rtt` is a Wireshark field that lab does not support yet"
    );
}

#[test]
fn type_errors_are_parse_errors() {
    assert_eq!(
        error(r#"ip.addr == "127.0.0.1""#),
        "column 12: `\"127.0.0.1\"` is not a value for ip.addr (an IPv4 address): a string compares only with byte fields; write an address such as 127.0.0.1 or a network such as 10.0.0.0/8"
    );
    assert_eq!(
        error("tcp.port contains 80"),
        "column 10: 'contains' does not apply to tcp.port (a 16-bit unsigned integer)"
    );
    assert_eq!(
        error("tcp.port == 70000"),
        "column 13: `70000` is not a value for tcp.port (a 16-bit unsigned integer): the largest is 65535"
    );
    assert!(error("ip.addr == ::1").contains("IPv6 fields are ipv6.addr"));
    assert!(error("tcp.flags.syn > 0").contains("'>' does not apply to tcp.flags.syn"));
    assert!(error("tcp == 1").contains("tcp is a protocol"));
    assert!(error("tcp.payload contains 6").contains("\"text\" or bytes such as 66:65"));
    assert!(error("ip.src < 10.0.0.0/8").contains("'<' does not apply"));
    assert!(error("tcp.port == udp.port").contains("comparing two fields is not supported"));
}

/// A segment from 127.0.0.1:40000 to 127.0.0.1:9000, as the timeline
/// releases it (frame 3, TCP stream 2).
fn segment(flags: TcpFlags, data: &[u8]) -> Packet {
    let mut p =
        crate::correlate::segment("127.0.0.1:40000", "127.0.0.1:9000", 1001, 1, flags, data);
    p.info = crate::correlate::Flows::default().observe(&p);
    p.info.number = 3;
    p.info.conversation = Some((crate::conversations::Kind::Tcp, 2));
    p
}

fn matches(text: &str, p: &Packet) -> bool {
    DisplayFilter::parse(text).unwrap().matches(p)
}

#[test]
fn evaluation_follows_wireshark_on_fields_that_occur_twice_or_not_at_all() {
    let p = segment(TcpFlags::PSH | TcpFlags::ACK, b"hello feng");
    for yes in [
        "tcp",
        "tcp.port == 9000",
        "tcp.port == 40000",
        "tcp.port != 22",
        "!(tcp.port == 22)",
        "tcp.len == 10 && tcp.len >= 4 and not udp",
        "tcp.flags.push == 1",
        "tcp.flags.syn",
        "tcp.flags.syn == 0",
        "tcp.seq == 1",
        "tcp.stream == 2",
        "frame.number in {1, 3}",
        "frame.number in {2..4}",
        "ip.addr == 127.0.0.1",
        "ip.src == 127.0.0.0/8",
        "ip",
        r#"tcp.payload contains "feng""#,
        "tcp.payload contains 66:65:6e:67",
    ] {
        assert!(matches(yes, &p), "{yes} should match");
    }
    for no in [
        "udp",
        "ipv6",
        "tcp.port == 22",
        "tcp.port != 9000",
        "udp.port != 22",
        "tcp.stream == 0",
        "udp.stream == 2",
        "tcp.flags.syn == 1",
        "frame.number in {1..2, 4}",
        "ip.addr == 10.0.0.0/8",
        "ipv6.addr == ::1",
        r#"tcp.payload contains "FENG""#,
    ] {
        assert!(!matches(no, &p), "{no} should not match");
    }
    // No data, no `tcp.payload`: `contains ""` cannot match it.
    let bare = segment(TcpFlags::ACK, b"");
    assert!(!matches(r#"tcp.payload contains """#, &bare));
    assert!(!matches("tcp.payload", &bare));
}

#[test]
fn every_field_has_one_name_that_parses_back_to_it() {
    let mut names = std::collections::HashSet::new();
    for &f in Field::ALL {
        assert!(names.insert(f.name()), "{} twice", f.name());
        assert_eq!(Field::from_name(f.name()), Some(f));
        assert_eq!(parse(f.name()), Expr::Test(Test::Present(f)));
        assert!(!field::not_supported_yet(f.name()), "{}", f.name());
    }
}
