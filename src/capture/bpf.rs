//! The port filter, as a classic BPF program written by hand.
//!
//! pnet has no filter API, and linking libpcap just to compile one small
//! expression is not worth it. Classic BPF is a tiny machine: an
//! accumulator `A`, an index register `X`, loads from the frame at fixed
//! offsets (`ld [k]`) or relative to `X` (`ld [x + k]`), conditional jumps
//! that skip `jt` or `jf` instructions forward, and `ret #n`, which keeps the
//! first `n` bytes of the frame (0 drops it). A load past the end of the
//! frame ends the program with 0.
//!
//! The program, with a line of explanation per instruction, is listed in
//! the `capture` module docs; [`port_filter`] below emits exactly that
//! listing, and the tests run it on byte fixtures with a small interpreter
//! of the same instruction subset.

use libc::sock_filter;

/// How many bytes of a frame `accept` keeps: all of them.
pub(super) const SNAPLEN: u32 = 262_144;

/// Most ports one program can test: jump offsets are 8 bits wide.
pub const MAX_PORTS: usize = 100;

/// Builds the program described in the module documentation.
///
/// `ports` must hold 1 to [`MAX_PORTS`] entries.
pub(super) fn port_filter(ports: &[u16]) -> Vec<sock_filter> {
    assert!(!ports.is_empty() && ports.len() <= MAX_PORTS);
    use Label::*;
    let mut a = Assembler::default();
    a.insn(LDH_ABS, 12);
    a.jeq(0x0800, Ipv4, Next);
    a.jeq(0x86dd, Ipv6, Reject);

    a.label(Ipv4);
    a.insn(LDB_ABS, 14 + 9);
    a.jeq(6, V4, Next);
    a.jeq(17, V4, Reject);
    a.label(V4);
    a.insn(LDH_ABS, 14 + 6);
    a.jump(JSET, 0x1fff, Accept, Next);
    a.insn(LDX_MSH, 14);
    a.ja(Ports);

    a.label(Ipv6);
    a.insn(LDB_ABS, 14 + 6);
    a.jeq(44, Accept, Next);
    a.jeq(6, V6, Next);
    a.jeq(17, V6, Reject);
    a.label(V6);
    a.insn(LDX_IMM, 40);

    a.label(Ports);
    for offset in [14, 16] {
        a.insn(LDH_IND, offset);
        for &port in ports {
            a.jeq(u32::from(port), Accept, Next);
        }
    }
    a.label(Reject);
    a.insn(RET_K, 0);
    a.label(Accept);
    a.insn(RET_K, SNAPLEN);
    a.finish()
}

// Opcodes, spelled as the sums of their parts (see linux/filter.h).
const LDH_ABS: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
const LDB_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
const LDH_IND: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_IND) as u16;
const LDX_MSH: u16 = (libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH) as u16;
const LDX_IMM: u16 = (libc::BPF_LDX | libc::BPF_W | libc::BPF_IMM) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Places in the program a jump can go to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Next,
    Ipv4,
    V4,
    Ipv6,
    V6,
    Ports,
    Reject,
    Accept,
}

/// One instruction whose jump targets may still be labels.
struct Pending {
    code: u16,
    k: u32,
    jt: Label,
    jf: Label,
}

/// Collects instructions, then turns labels into the forward offsets BPF
/// wants ("skip this many instructions").
#[derive(Default)]
struct Assembler {
    code: Vec<Pending>,
    marks: Vec<(Label, usize)>,
}

impl Assembler {
    fn insn(&mut self, code: u16, k: u32) {
        self.jump(code, k, Label::Next, Label::Next);
    }

    fn jeq(&mut self, k: u32, jt: Label, jf: Label) {
        self.jump(JEQ, k, jt, jf);
    }

    fn ja(&mut self, to: Label) {
        // `ja` keeps its (32-bit) offset in `k`; `jt` carries the label.
        self.jump(JA, 0, to, Label::Next);
    }

    fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) {
        self.code.push(Pending { code, k, jt, jf });
    }

    fn label(&mut self, label: Label) {
        self.marks.push((label, self.code.len()));
    }

    fn finish(self) -> Vec<sock_filter> {
        let target = |from: usize, label: Label| -> usize {
            let to = match label {
                Label::Next => from + 1,
                _ => {
                    self.marks
                        .iter()
                        .find(|(l, _)| *l == label)
                        .expect("label placed")
                        .1
                }
            };
            // Offsets count from the instruction after the jump.
            to.checked_sub(from + 1).expect("BPF jumps only go forward")
        };
        let byte = |offset: usize| u8::try_from(offset).expect("jump within 255 instructions");
        self.code
            .iter()
            .enumerate()
            .map(|(at, p)| {
                if p.code == JA {
                    let k = target(at, p.jt) as u32;
                    return sock_filter {
                        code: p.code,
                        jt: 0,
                        jf: 0,
                        k,
                    };
                }
                sock_filter {
                    code: p.code,
                    jt: byte(target(at, p.jt)),
                    jf: byte(target(at, p.jf)),
                    k: p.k,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the subset of classic BPF the filter uses, as the kernel would.
    fn run(program: &[sock_filter], frame: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let load = |at: usize, width: usize| -> Option<u32> {
            let bytes = frame.get(at..at + width)?;
            Some(bytes.iter().fold(0, |acc, b| (acc << 8) | u32::from(*b)))
        };
        loop {
            let i = &program[pc];
            pc += 1;
            match i.code {
                LDH_ABS => {
                    a = match load(i.k as usize, 2) {
                        Some(v) => v,
                        None => return 0,
                    }
                }
                LDB_ABS => {
                    a = match load(i.k as usize, 1) {
                        Some(v) => v,
                        None => return 0,
                    }
                }
                LDH_IND => {
                    a = match load((x + i.k) as usize, 2) {
                        Some(v) => v,
                        None => return 0,
                    }
                }
                LDX_MSH => {
                    x = match load(i.k as usize, 1) {
                        Some(v) => (v & 0xf) * 4,
                        None => return 0,
                    }
                }
                LDX_IMM => x = i.k,
                JEQ => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JSET => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                JA => pc += i.k as usize,
                RET_K => return i.k,
                other => panic!("opcode {other:#x} not in the filter's subset"),
            }
        }
    }

    /// Ethernet header with zero addresses, as on `lo`.
    fn ether(kind: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&kind.to_be_bytes());
        f
    }

    /// IPv4 + transport header start: `ihl` words, protocol, fragment field.
    fn ipv4(proto: u8, ihl: u8, frag: u16, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = ether(0x0800);
        let mut ip = vec![0u8; usize::from(ihl) * 4];
        ip[0] = 0x40 | ihl;
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[9] = proto;
        f.extend_from_slice(&ip);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0u8; 16]);
        f
    }

    fn ipv6(next: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = ether(0x86dd);
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[6] = next;
        f.extend_from_slice(&ip);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn keeps_either_direction_of_a_watched_port() {
        let p = port_filter(&[8080, 9000]);
        assert_eq!(run(&p, &ipv4(6, 5, 0x4000, 8080, 40000)), SNAPLEN);
        assert_eq!(run(&p, &ipv4(6, 5, 0x4000, 40000, 9000)), SNAPLEN);
        assert_eq!(run(&p, &ipv4(17, 5, 0, 40000, 8080)), SNAPLEN);
        assert_eq!(run(&p, &ipv6(6, 40000, 9000)), SNAPLEN);
        assert_eq!(run(&p, &ipv6(17, 8080, 1)), SNAPLEN);
    }

    #[test]
    fn drops_other_ports_and_protocols() {
        let p = port_filter(&[8080]);
        assert_eq!(run(&p, &ipv4(6, 5, 0, 40000, 40001)), 0);
        assert_eq!(run(&p, &ipv4(1, 5, 0, 8080, 8080)), 0, "ICMP");
        assert_eq!(run(&p, &ipv6(58, 8080, 8080)), 0, "ICMPv6");
        assert_eq!(run(&p, &ether(0x0806)), 0, "ARP");
        assert_eq!(run(&p, &ether(0x0800)), 0, "too short to hold a header");
    }

    #[test]
    fn reads_ports_after_ipv4_options() {
        // IHL 6: 4 bytes of options push the ports 4 bytes further.
        let p = port_filter(&[8080]);
        let mut f = ipv4(6, 6, 0, 8080, 1);
        assert_eq!(run(&p, &f), SNAPLEN);
        // The same bytes read as if IHL were 5 would be option bytes (0).
        f[14] = 0x45;
        assert_eq!(run(&p, &f), 0);
    }

    #[test]
    fn keeps_fragments_without_ports() {
        let p = port_filter(&[8080]);
        // Offset 185 (x 8 bytes): a later fragment; its "ports" are payload.
        assert_eq!(run(&p, &ipv4(17, 5, 185, 1, 2)), SNAPLEN);
        // The first fragment (MF set, offset 0) carries the real ports.
        assert_eq!(run(&p, &ipv4(17, 5, 0x2000, 1, 2)), 0);
        assert_eq!(run(&p, &ipv6(44, 1, 2)), SNAPLEN);
    }

    #[test]
    fn many_ports_still_fit_the_jump_range() {
        let ports: Vec<u16> = (1..=MAX_PORTS as u16).collect();
        let p = port_filter(&ports);
        assert_eq!(run(&p, &ipv4(6, 5, 0, 7, MAX_PORTS as u16)), SNAPLEN);
        assert_eq!(run(&p, &ipv4(6, 5, 0, 1000, MAX_PORTS as u16 + 1)), 0);
    }
}
