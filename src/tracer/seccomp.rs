//! A seccomp filter that makes the program stop only at the calls we
//! record.
//!
//! Plain ptrace (`PTRACE_SYSCALL`) stops a traced thread twice at every
//! system call, whatever it is: `mmap`, `futex`, `clock_gettime`... Each
//! stop costs two context switches and a few ptrace requests, so a busy
//! program runs many times slower. `strace --seccomp-bpf` does better, and
//! so do we: before the program starts, it installs a seccomp filter, a
//! small classic BPF program the kernel runs at the entry of every system
//! call. Ours answers `SECCOMP_RET_TRACE` ("stop and tell the tracer") for
//! the calls in [`Syscall::ALL`] and `SECCOMP_RET_ALLOW` for everything
//! else, which then costs nothing but the filter itself.
//!
//! The program, for the machine the kernel runs it on (`A` is the
//! accumulator; a jump names where it goes when true / false):
//!
//! ```text
//!         ld  [4]                    A = seccomp_data.arch
//!         jeq #AUDIT_ARCH_X86_64  next / allow   another ABI: not ours
//!         ld  [0]                    A = seccomp_data.nr
//!         jeq #SYS_socket   trace    ... one jeq per traced call
//!         ...
//! allow:  ret #SECCOMP_RET_ALLOW
//! trace:  ret #SECCOMP_RET_TRACE
//! ```
//!
//! A filter stays for the life of the process and is inherited by its
//! children and kept across `exec`: everything the program starts is
//! filtered too. If no tracer listens for `PTRACE_EVENT_SECCOMP`, a traced
//! call fails with `ENOSYS`; so the child installs the filter only after
//! the tracer has set `PTRACE_O_TRACESECCOMP` on it (see `process.rs`).
//!
//! The program is built by hand, like the capture's port filter
//! (`capture/bpf.rs`), rather than with a crate such as `seccompiler`
//! (which can express `SECCOMP_RET_TRACE` too): it is a dozen lines, the
//! test below runs it on a small interpreter, and installing it ourselves
//! keeps the choice of when to set `PR_SET_NO_NEW_PRIVS` (see
//! [`install`]), with nothing but system calls between `fork` and `exec`.
//!
//! `read`, `write` and `close` are in the list although they are socket
//! calls only when their descriptor is a socket: the filter cannot tell (it
//! sees numbers, not what a descriptor is). The tracer looks, and lets the
//! others go at once, without waiting for their exit (one stop, not two).

use libc::{sock_filter, sock_fprog};

use super::syscalls::Syscall;

/// `AUDIT_ARCH_X86_64` from `<linux/audit.h>`: the 64-bit x86 ABI.
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The filter described in the module docs.
pub fn program() -> Vec<sock_filter> {
    let calls = Syscall::ALL;
    let n = calls.len();
    let mut p = vec![
        insn(LD_W_ABS, 0, 0, ARCH),
        // Not x86_64: jump over the number checks to `allow`.
        insn(JEQ_K, 0, (n + 1) as u8, AUDIT_ARCH_X86_64),
        insn(LD_W_ABS, 0, 0, NR),
    ];
    for (i, call) in calls.iter().enumerate() {
        // When equal, skip the remaining checks and `allow` to `trace`.
        let to_trace = (n - i) as u8;
        p.push(insn(JEQ_K, to_trace, 0, call.number() as u32));
    }
    p.push(insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
    p.push(insn(RET_K, 0, 0, libc::SECCOMP_RET_TRACE));
    p
}

/// Installs `program` on the calling thread (and so on what it will
/// `exec`). Called in the child between `fork` and `exec`, so it makes
/// only system calls: nothing that allocates or locks.
///
/// Without CAP_SYS_ADMIN the kernel accepts a filter only from a process
/// that promised never to gain privileges (`PR_SET_NO_NEW_PRIVS`: a
/// set-user-ID program then runs without its extra rights), so the
/// promise is made only when the first try is refused. A traced program
/// does not gain privileges from set-user-ID files anyway.
///
/// # Safety
///
/// `program` must stay alive during the call; the caller is a freshly
/// forked child.
pub unsafe fn install(program: &[sock_filter]) -> bool {
    let prog = sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut sock_filter,
    };
    let set = |prog: &sock_fprog| unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            prog as *const sock_fprog as libc::c_ulong,
            0,
            0,
        ) == 0
    };
    if set(&prog) {
        return true;
    }
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && set(&prog) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter on a `seccomp_data` with `arch` and `nr`, as the
    /// kernel would: returns what the last `ret` said.
    fn run(p: &[sock_filter], arch: u32, nr: u32) -> u32 {
        let mut pc = 0;
        let mut a = 0u32;
        loop {
            let i = p[pc];
            match i.code {
                LD_W_ABS => a = if i.k == ARCH { arch } else { nr },
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                c => panic!("unexpected instruction {c}"),
            }
            pc += 1;
        }
    }

    #[test]
    fn traces_socket_calls_and_allows_the_rest() {
        let p = program();
        for call in Syscall::ALL {
            let nr = call.number() as u32;
            assert_eq!(run(&p, AUDIT_ARCH_X86_64, nr), libc::SECCOMP_RET_TRACE);
            // The same number under another ABI is another call.
            assert_eq!(run(&p, 0x4000_0003, nr), libc::SECCOMP_RET_ALLOW);
        }
        for other in [libc::SYS_mmap, libc::SYS_futex, libc::SYS_openat] {
            let r = run(&p, AUDIT_ARCH_X86_64, other as u32);
            assert_eq!(r, libc::SECCOMP_RET_ALLOW);
        }
    }
}
