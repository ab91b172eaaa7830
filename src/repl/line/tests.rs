//! The parser, line by line: trees, errors and their columns.

use super::*;

// Small builders, so that each expected tree reads like the line.
fn name(n: &str) -> Expr {
    Expr::Name(n.into())
}
fn text(s: &str) -> Expr {
    Expr::Str(s.into())
}
fn bytes(b: &[u8]) -> Expr {
    Expr::Bytes(b.to_vec())
}
fn addr(host: &str, port: i64) -> Expr {
    Expr::Tuple(vec![text(host), Expr::Int(port)])
}
fn call(receiver: &str, method: &str, args: Vec<Expr>, column: usize) -> CallExpr {
    let receiver = (!receiver.is_empty()).then(|| receiver.to_string());
    CallExpr {
        receiver,
        method: method.into(),
        args,
        column,
    }
}
fn stmt(targets: &[&str], call: CallExpr) -> Line {
    let targets = targets.iter().map(|t| t.to_string()).collect();
    Line::Statement(Statement { targets, call })
}
fn command(name: &str, arg: Option<&str>) -> Line {
    Line::Command {
        name: name.into(),
        arg: arg.map(String::from),
    }
}
fn check(line: &str, expected: Line) {
    assert_eq!(parse(line), Ok(expected), "{line}");
}
/// The error's column and message.
fn error(line: &str) -> (usize, String) {
    let e = parse(line).expect_err(line);
    (e.column, e.message)
}

#[test]
fn creating_sockets() {
    let stream = vec![name("AF_INET"), name("SOCK_STREAM")];
    let socket = call("", "socket", stream.clone(), 10);
    check(
        "server = socket(AF_INET, SOCK_STREAM)",
        stmt(&["server"], socket.clone()),
    );
    let line = "server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)";
    check(line, stmt(&["server"], socket));
    let udp = call("", "socket", vec![name("AF_INET"), name("SOCK_DGRAM")], 5);
    check("u = socket(AF_INET, SOCK_DGRAM)", stmt(&["u"], udp));
    let unix = call("", "socket", vec![name("AF_UNIX"), name("SOCK_STREAM")], 5);
    check("x = socket(AF_UNIX, SOCK_STREAM)", stmt(&["x"], unix));
}

#[test]
fn addresses_and_connections() {
    let bind = |port| {
        stmt(
            &[],
            call("server", "bind", vec![addr("127.0.0.1", port)], 1),
        )
    };
    check(r#"server.bind(("127.0.0.1", 0))"#, bind(0));
    check("server.bind(('127.0.0.1', 8080))", bind(8080));
    let listen = call("server", "listen", vec![Expr::Int(5)], 1);
    check("server.listen(5)", stmt(&[], listen));
    let getsockname = Expr::Call(Box::new(call("server", "getsockname", vec![], 16)));
    let connect = call("client", "connect", vec![getsockname], 1);
    check("client.connect(server.getsockname())", stmt(&[], connect));
    let connect = call("client", "connect", vec![addr("127.0.0.1", 8080)], 1);
    check(r#"client.connect(("127.0.0.1", 8080))"#, stmt(&[], connect));
    let connect_ex = call("client", "connect_ex", vec![addr("127.0.0.1", 9)], 7);
    check(
        r#"err = client.connect_ex(("127.0.0.1", 9))"#,
        stmt(&["err"], connect_ex),
    );
    let accept = call("server", "accept", vec![], 14);
    check(
        "conn, addr = server.accept()",
        stmt(&["conn", "addr"], accept),
    );
}

#[test]
fn sending_and_receiving() {
    let send = call("client", "send", vec![bytes(b"hello")], 1);
    check(r#"client.send(b"hello")"#, stmt(&[], send));
    let sendall = call("client", "sendall", vec![bytes(b"hello\n\0")], 1);
    check(r"client.sendall(b'hello\n\x00')", stmt(&[], sendall));
    let encoded = stmt(&[], call("client", "send", vec![bytes(b"text")], 1));
    check(r#"client.send("text".encode())"#, encoded.clone());
    check(r#"client.send("text".encode('utf-8'))"#, encoded);
    let utf8 = stmt(&[], call("c", "send", vec![bytes("é".as_bytes())], 1));
    check(r#"c.send("é".encode())"#, utf8);
    let recv = |column| call("conn", "recv", vec![Expr::Int(1024)], column);
    check("data = conn.recv(1024)", stmt(&["data"], recv(8)));
    check("conn.recv(1024)", stmt(&[], recv(1)));
    let to = vec![bytes(b"hi"), addr("127.0.0.1", 9000)];
    check(
        r#"u.sendto(b"hi", ("127.0.0.1", 9000))"#,
        stmt(&[], call("u", "sendto", to, 1)),
    );
    let recvfrom = call("u", "recvfrom", vec![Expr::Int(1024)], 14);
    check(
        "data, addr = u.recvfrom(1024)",
        stmt(&["data", "addr"], recvfrom),
    );
}

#[test]
fn options_and_teardown() {
    let opt = |args| stmt(&[], call("s", "setsockopt", args, 1));
    let reuse = vec![name("SOL_SOCKET"), name("SO_REUSEADDR"), Expr::Int(1)];
    check("s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)", opt(reuse));
    let nodelay = vec![name("IPPROTO_TCP"), name("TCP_NODELAY"), Expr::Bool(true)];
    check(
        "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)",
        opt(nodelay),
    );
    let pack = Expr::Pack {
        format: "ii".into(),
        values: vec![1, 0],
    };
    let linger = vec![name("SOL_SOCKET"), name("SO_LINGER"), pack];
    check(
        "s.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))",
        opt(linger),
    );
    let rcvbuf = vec![name("SOL_SOCKET"), name("SO_RCVBUF")];
    check(
        "s.getsockopt(SOL_SOCKET, SO_RCVBUF)",
        stmt(&[], call("s", "getsockopt", rcvbuf, 1)),
    );
    let on_s = |method: &str, args| stmt(&[], call("s", method, args, 1));
    check(
        "s.setblocking(False)",
        on_s("setblocking", vec![Expr::Bool(false)]),
    );
    check(
        "s.settimeout(2.5)",
        on_s("settimeout", vec![Expr::Float(2.5)]),
    );
    check("s.settimeout(None)", on_s("settimeout", vec![Expr::None]));
    check(
        "s.shutdown(SHUT_WR)",
        on_s("shutdown", vec![name("SHUT_WR")]),
    );
    check("s.close()", on_s("close", vec![]));
    check("s.getsockname()", on_s("getsockname", vec![]));
    check("s.getpeername()", on_s("getpeername", vec![]));
}

#[test]
fn commands_and_empty_lines() {
    check("help", command("help", None));
    check("help(send)", command("help", Some("send")));
    check("help send", command("help", Some("send")));
    check("  help('send')  # quoted", command("help", Some("send")));
    check("map", command("map", None));
    check("state", command("state", None));
    check("quit", command("quit", None));
    check("save FILE", command("save", Some("FILE")));
    check(
        "save out/run-1.txt  # the session",
        command("save", Some("out/run-1.txt")),
    );
    // A variable may have a command's name.
    let socket = call("", "socket", vec![name("AF_INET"), name("SOCK_STREAM")], 9);
    check(
        "state = socket(AF_INET, SOCK_STREAM)",
        stmt(&["state"], socket),
    );
    check("map.close()", stmt(&[], call("map", "close", vec![], 1)));
    for blank in ["", "   ", "# a comment", "\t# indented comment"] {
        check(blank, Line::Empty);
    }
}

#[test]
fn literals() {
    let args = |line: &str| match parse(line) {
        Ok(Line::Statement(s)) => s.call.args,
        other => panic!("{line}: {other:?}"),
    };
    let ints = [0, 0x1f, -1, i64::MIN, i64::MAX].map(Expr::Int);
    let line = "f(0, 0x1F, -1, -9223372036854775808, 9223372036854775807)";
    assert_eq!(args(line), ints);
    let floats = [0.5, 1e-3, -2.0, 100.0].map(Expr::Float);
    assert_eq!(args("f(.5, 1e-3, -2.0, 1E2)"), floats);
    assert_eq!(
        args(r#"f('\r\t\\\'\"\x41\101\0')"#),
        [text("\r\t\\'\"AA\0")]
    );
    assert_eq!(args(r#"f(b"\xff#", 'é')"#), [bytes(b"\xff#"), text("é")]);
    assert_eq!(args("f((1), (1,), (), (1, 2,),)  # trailing commas"), {
        let one = Expr::Int(1);
        let pair = Expr::Tuple(vec![one.clone(), Expr::Int(2)]);
        [
            one.clone(),
            Expr::Tuple(vec![one]),
            Expr::Tuple(vec![]),
            pair,
        ]
    });
    assert_eq!(
        args("f(socket.foo, a.b);"),
        [name("socket.foo"), name("a.b")]
    );
    let create = call("socket", "create_connection", vec![addr("::1", 80)], 5);
    check(
        r#"c = socket.create_connection(("::1", 80))"#,
        stmt(&["c"], create),
    );
}

#[test]
fn errors_point_at_their_column() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "server.listen(5",
            16,
            "expected `)` to close the call opened at column 14, found end of line",
        ),
        (
            r#"s.bind(("h", 1)"#,
            16,
            "expected `)` to close the call opened at column 7, found end of line",
        ),
        (
            r#"s.bind(("h", 1"#,
            15,
            "expected `)` to close the tuple opened at column 8, found end of line",
        ),
        (
            "s.recv(1024 5)",
            13,
            "expected `,` or `)` in the call opened at column 7, found number `5`",
        ),
        (
            r#"c.send(b"\q")"#,
            10,
            r#"unknown escape `\q`; known escapes are \n \r \t \\ \' \" \xNN and \0"#,
        ),
        (
            r#"c.send(b"\x4")"#,
            10,
            r"expected two hex digits after `\x`, as in `\x0a`",
        ),
        (
            r#"c.send("hello"#,
            14,
            "expected `\"` to close the string opened at column 8, found end of line",
        ),
        (
            "c.send(b'é')",
            10,
            "a bytes literal holds only ASCII characters, found `é`",
        ),
        (
            // Columns count characters: `é` is two bytes but one column.
            "c.send(\"é\", 'a",
            15,
            "expected `'` to close the string opened at column 13, found end of line",
        ),
        ("conn,", 6, "expected a name after `,`, found end of line"),
        (
            "conn, = s.accept()",
            7,
            "expected a name after `,`, found `=`",
        ),
        (
            "conn, addr s.accept()",
            12,
            "expected `,` or `=` after the names to assign to, found name `s`",
        ),
        (
            "= recv()",
            1,
            "expected a name before `=`, as in `data = conn.recv(1024)`, found `=`",
        ),
        ("None = s.accept()", 1, "cannot assign to `None`"),
        (
            "x = ",
            5,
            "expected a call such as `conn.recv(1024)`, found end of line",
        ),
        (
            "x = 5",
            5,
            "expected a call such as `conn.recv(1024)`, found number `5`",
        ),
        ("x = y", 6, "expected `(` to call `y`, found end of line"),
        (
            "a.b.c()",
            1,
            "expected a method of one variable, as in `conn.recv(1024)`, found `a.b.c(...)`",
        ),
        (
            "s.recv(bufsize=5)",
            8,
            "`bufsize=`: keyword arguments are not supported; pass the value by position",
        ),
        (
            "s.recv(1024) x",
            14,
            "expected end of line after the call, found name `x`",
        ),
        (
            "s.recv(1); s.close()",
            12,
            "expected end of line after `;` (one statement per line), found name `s`",
        ),
        ("s.recv(1024)!", 13, "unexpected character `!`"),
        (
            "x = = 'unterminated",
            5,
            "expected a call such as `conn.recv(1024)`, found `=`",
        ),
        (
            "s.recv(010)",
            8,
            "leading zeros are not allowed in `010`; write 0o10 for octal",
        ),
        ("s.recv(1.2.3)", 8, "invalid number `1.2.3`"),
        (
            "s.recv(9223372036854775808)",
            8,
            "`9223372036854775808` does not fit in a 64-bit signed integer",
        ),
        (
            "s.recv(99999999999999999999)",
            8,
            "`99999999999999999999` does not fit in 64 bits",
        ),
        (
            "s.send('x'.upper())",
            12,
            "expected `encode` after a string's `.`, as in `\"text\".encode()`, found name `upper`",
        ),
        (
            "s.f(struct.pack('i', 'x'))",
            22,
            "expected an integer to pack, found another value",
        ),
        (
            "s.f(struct.pack('i',",
            21,
            "expected `)` to close the call opened at column 16, found end of line",
        ),
        ("map x", 5, "`map` takes no argument, found `x`"),
        (
            "save",
            5,
            "expected a file name after `save`, found end of line",
        ),
        (
            "help(send",
            10,
            "expected `)` to close the `(` at column 5, found end of line",
        ),
    ];
    for &(line, column, message) in cases {
        assert_eq!(error(line), (column, message.to_string()), "{line}");
    }
}

#[test]
fn error_display_and_caret() {
    let e = parse("server.listen(5").unwrap_err();
    let shown = "column 16: expected `)` to close the call opened at column 14, found end of line";
    assert_eq!(e.to_string(), shown);
    assert_eq!(e.caret(), format!("{}^", " ".repeat(15)));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let line = format!("s.f({}", "(".repeat(10_000));
    assert_eq!(error(&line), (37, "nested more than 32 deep".to_string()));
    assert!(parse(&format!("s.f({}1{})", "(".repeat(31), ")".repeat(31))).is_ok());
}

/// Every example line of the brief, for the fuzzer to mutate.
const EXAMPLES: &[&str] = &[
    "server = socket(AF_INET, SOCK_STREAM)",
    "server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
    "u = socket(AF_INET, SOCK_DGRAM)",
    "x = socket(AF_UNIX, SOCK_STREAM)",
    r#"server.bind(("127.0.0.1", 0))"#,
    "server.bind(('127.0.0.1', 8080))",
    "server.listen(5)",
    "client.connect(server.getsockname())",
    r#"client.connect(("127.0.0.1", 8080))"#,
    r#"err = client.connect_ex(("127.0.0.1", 9))"#,
    "conn, addr = server.accept()",
    r#"client.send(b"hello")"#,
    r"client.sendall(b'hello\n\x00')",
    r#"client.send("text".encode())"#,
    "data = conn.recv(1024)",
    "conn.recv(1024)",
    r#"u.sendto(b"hi", ("127.0.0.1", 9000))"#,
    "data, addr = u.recvfrom(1024)",
    "s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)",
    "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)",
    "s.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))",
    "s.getsockopt(SOL_SOCKET, SO_RCVBUF)",
    "s.setblocking(False)",
    "s.settimeout(2.5)",
    "s.settimeout(None)",
    "s.shutdown(SHUT_WR)",
    "s.close()",
    "s.getsockname()",
    "s.getpeername()",
    "help",
    "help(send)",
    "save FILE",
    "# a comment",
];

#[test]
fn every_example_parses() {
    for line in EXAMPLES {
        assert!(parse(line).is_ok(), "{line}: {:?}", parse(line));
    }
}

/// A tiny xorshift pseudo-random generator: the same "random" lines on
/// every run, without a crate.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

#[test]
fn fuzzed_lines_never_panic() {
    const TRICKY: &[u8] = b"()[],.=;#'\"\\bx0e9-+_ \t\xc3\xa9\xff";
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..10_000 {
        let mut line = EXAMPLES[rng.below(EXAMPLES.len())].as_bytes().to_vec();
        if rng.below(10) == 0 {
            line = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect();
        }
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(line.len() + 1);
            let end = at + rng.below(line.len() - at + 1);
            match rng.below(5) {
                0 => line.insert(at, TRICKY[rng.below(TRICKY.len())]),
                1 => line.insert(at, rng.below(256) as u8),
                2 => drop(line.drain(at..end)),
                3 => line.truncate(at),
                _ => {
                    let other = EXAMPLES[rng.below(EXAMPLES.len())].as_bytes();
                    line.splice(at..end, other[rng.below(other.len())..].iter().copied());
                }
            }
        }
        let text = String::from_utf8_lossy(&line);
        let columns = text.chars().count() + 1;
        match parse(&text) {
            Err(e) => {
                assert!((1..=columns).contains(&e.column), "{text:?}: {e}");
                assert!(e.to_string().starts_with("column "));
            }
            Ok(Line::Statement(s)) => assert!((1..columns).contains(&s.call.column)),
            Ok(_) => {}
        }
    }
}
