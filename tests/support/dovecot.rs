//! A private Dovecot 2.3 on 127.0.0.1 for integration tests.
//!
//! ```ignore
//! let Some(dc) = support::dovecot::start() else { return };   // own instance
//! let Some(dc) = support::dovecot::shared() else { return };  // one per test binary
//! let user = dc.add_user();                                   // isolation on `shared()`
//! dc.seed(&user, "INBOX", &[b"Subject: hi\r\n\r\nbody\r\n"]);
//! ```
//!
//! Ports: IMAP (plain + STARTTLS), IMAPS, POP3 (plain + STLS), POP3S, all on free ephemeral
//! ports. Users `alice`/`alicepw` and `bob`/`bobpw` from a passwd-file, maildir storage,
//! the per-process [`test_cert`](super::certs::test_cert) as the server certificate.
//!
//! Dovecot runs in the foreground (`dovecot -F`) under a small `sh` wrapper whose stdin is a
//! pipe held by this process. Closing the pipe (on drop, or when the test process exits
//! for any reason) makes the wrapper stop Dovecot, wait for all its processes and remove
//! the temp dir, so even the never-dropped [`shared`] instance leaves nothing behind (the
//! cleanup then finishes about a second after the test binary exits).
//!
//! Dovecot missing (`dovecot` neither on PATH nor /usr/sbin/dovecot, or no imap/pop3
//! binaries in /usr/lib/dovecot): [`start`]/[`shared`] print `SKIP: ...` and return
//! `None`, unless `MAILWIRE_REQUIRE_SERVERS=1`, in which case they panic.
//! `MAILWIRE_DOVECOT=/path/to/dovecot` overrides where the binary is looked for.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::certs::test_cert;

/// The message printed (or panicked with) when Dovecot is not installed.
pub const NOT_INSTALLED: &str =
    "SKIP: dovecot not installed (apt-get install -y dovecot-imapd dovecot-pop3d)";

/// How long [`Dovecot::start`] and [`Dovecot::restart`] wait for the server to be ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The host every port listens on.
pub const HOST: &str = "127.0.0.1";

/// Starts a private instance (see [`Dovecot::start`]).
pub fn start() -> Option<Dovecot> {
    Dovecot::start()
}

/// Starts a private instance with extra settings (see [`Dovecot::start_with_config`]).
pub fn start_with_config(extra: &str) -> Option<Dovecot> {
    Dovecot::start_with_config(extra)
}

/// Starts a private instance whose personal namespace is laid out as `namespace` says.
pub fn start_with_namespace(namespace: Namespace) -> Option<Dovecot> {
    Dovecot::start_with(namespace, "")
}

/// How the personal (`inbox`) namespace names folders: its `prefix` and `separator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// No prefix, separator `/` (`Projects/2026`): what every test gets by default.
    Default,
    /// `prefix = INBOX.`, `separator = .` (`INBOX.Projects.2026`), as Courier and many
    /// Cyrus setups.
    InboxDot,
    /// `prefix = INBOX/`, `separator = /` (`INBOX/Projects/2026`), as Cyrus with
    /// `unixhierarchysep`.
    InboxSlash,
}

impl Namespace {
    /// Every setup.
    pub const ALL: [Namespace; 3] = [
        Namespace::Default,
        Namespace::InboxDot,
        Namespace::InboxSlash,
    ];

    /// The name `scripts/demo --namespace` takes.
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Default => "default",
            Namespace::InboxDot => "inbox-dot",
            Namespace::InboxSlash => "inbox-slash",
        }
    }

    /// The setup called `name` (see [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<Namespace> {
        Namespace::ALL.into_iter().find(|n| n.name() == name)
    }

    /// The namespace's prefix as the server announces it.
    pub fn prefix(self) -> &'static str {
        match self {
            Namespace::Default => "",
            Namespace::InboxDot => "INBOX.",
            Namespace::InboxSlash => "INBOX/",
        }
    }

    /// The hierarchy separator.
    pub fn separator(self) -> char {
        match self {
            Namespace::InboxDot => '.',
            Namespace::Default | Namespace::InboxSlash => '/',
        }
    }
}

/// The instance shared by all tests of this test binary (see [`Dovecot::shared`]).
pub fn shared() -> Option<&'static Dovecot> {
    Dovecot::shared()
}

/// A mail account on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The password.
    pub password: String,
}

impl AsRef<str> for User {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// The four listening ports of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// IMAP, plaintext with STARTTLS.
    pub imap: u16,
    /// IMAP over implicit TLS.
    pub imaps: u16,
    /// POP3, plaintext with STLS.
    pub pop3: u16,
    /// POP3 over implicit TLS.
    pub pop3s: u16,
}

/// Installed Dovecot binaries.
#[derive(Debug, Clone)]
struct Binaries {
    dovecot: PathBuf,
    doveadm: PathBuf,
}

/// The running wrapper (`sh` -> `dovecot -F`).
#[derive(Debug)]
struct Running {
    wrapper: Child,
    stdin: Option<ChildStdin>,
}

/// A running private Dovecot; stopped and its directory removed on drop.
#[derive(Debug)]
pub struct Dovecot {
    dir: PathBuf,
    conf: PathBuf,
    instance: String,
    ports: Ports,
    mail_uid: u32,
    mail_gid: u32,
    root: bool,
    bins: Binaries,
    cert_pem: Vec<u8>,
    running: Mutex<Option<Running>>,
    passwd_lock: Mutex<()>,
    namespace: Namespace,
    /// Users already in the passwd-file, not handed out yet (see `add_user`).
    user_pool: Mutex<Vec<User>>,
}

/// How many users [`Dovecot::add_user`] pre-registers at a time.
const USER_BATCH: usize = 200;

/// Unique numbers for users and maildir file names.
static SEQ: AtomicU64 = AtomicU64::new(0);

fn find_binaries() -> Option<Binaries> {
    let on_path = |name: &str| -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    // MAILWIRE_DOVECOT=/path/to/dovecot overrides the lookup (a missing path = skip).
    if let Some(p) = std::env::var_os("MAILWIRE_DOVECOT") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return None;
        }
        let doveadm = p.with_file_name("doveadm");
        let doveadm = if doveadm.is_file() {
            doveadm
        } else {
            PathBuf::from("/usr/bin/doveadm")
        };
        return Some(Binaries {
            dovecot: p,
            doveadm,
        });
    }
    let dovecot = on_path("dovecot").or_else(|| {
        let p = PathBuf::from("/usr/sbin/dovecot");
        p.is_file().then_some(p)
    })?;
    let doveadm = on_path("doveadm")
        .or_else(|| {
            dovecot
                .parent()
                .map(|d| d.join("doveadm"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/bin/doveadm"));
    // dovecot-core alone has no imap/pop3 binaries.
    let libexec = Path::new("/usr/lib/dovecot");
    if !libexec.join("imap").is_file() || !libexec.join("pop3").is_file() {
        return None;
    }
    Some(Binaries { dovecot, doveadm })
}

fn not_installed() -> Option<Binaries> {
    if std::env::var("MAILWIRE_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!("{NOT_INSTALLED} (MAILWIRE_REQUIRE_SERVERS=1)");
    }
    // Straight to fd 2: `eprintln!` would be captured by the test runner and hidden.
    let _ = writeln!(std::io::stderr(), "{NOT_INSTALLED}");
    None
}

/// Output of a command as a trimmed string, or None if it failed.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn id_of(flag: &str, user: &str) -> u32 {
    command_output("id", &[flag, user])
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot get `id {flag} {user}`"))
}

/// Creates a system user if it does not exist (root only).
fn ensure_system_user(name: &str) {
    if command_output("id", &["-u", name]).is_some() {
        return;
    }
    let status = Command::new("useradd")
        .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
        .args(["--shell", "/usr/sbin/nologin", name])
        .status();
    // Another test binary may have created it concurrently: check again.
    if command_output("id", &["-u", name]).is_none() {
        panic!("cannot create system user {name}: {status:?}");
    }
}

/// Picks four distinct free ports (bind to :0, read, drop).
fn free_ports() -> Ports {
    let listeners: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind((HOST, 0)).expect("bind 127.0.0.1:0"))
        .collect();
    let port = |i: usize| listeners[i].local_addr().expect("local_addr").port();
    Ports {
        imap: port(0),
        imaps: port(1),
        pop3: port(2),
        pop3s: port(3),
    }
}

/// Why a launch failed.
enum LaunchError {
    /// A port was taken by someone else: retry with other ports.
    PortTaken(String),
    /// Anything else: the message includes the log tail.
    Other(String),
}

/// Encodes a mailbox name segment in modified UTF-7 (RFC 3501 5.1.3).
fn mutf7(name: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    fn flush(out: &mut String, units: &mut Vec<u16>) {
        if units.is_empty() {
            return;
        }
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        units.clear();
    }
    let mut out = String::new();
    let mut units = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut units);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut units);
    out
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

impl Dovecot {
    /// Starts a private instance in a fresh `/dev/shm/mw-XXXXXX` (or `/tmp/mw-XXXXXX`) directory, or returns `None`
    /// (after printing `SKIP: ...`) when Dovecot is not installed. Panics, with the log
    /// tail, if it does not come up within [`START_TIMEOUT`].
    pub fn start() -> Option<Dovecot> {
        Dovecot::start_with_config("")
    }

    /// Like [`start`](Self::start), with `extra` appended to the generated
    /// `dovecot.conf` (later settings override earlier ones), e.g.
    /// `imap_capability = IMAP4rev1 IDLE` to hide extensions from clients.
    pub fn start_with_config(extra: &str) -> Option<Dovecot> {
        Dovecot::start_with(Namespace::Default, extra)
    }

    /// Like [`start_with_config`](Self::start_with_config), with the personal namespace
    /// laid out as `namespace` says.
    pub fn start_with(namespace: Namespace, extra: &str) -> Option<Dovecot> {
        let bins = find_binaries().or_else(not_installed)?;
        let mut last = String::new();
        for _attempt in 0..4 {
            let dc = Dovecot::prepare(bins.clone(), free_ports(), namespace, extra);
            match dc.launch() {
                Ok(()) => return Some(dc),
                Err(LaunchError::PortTaken(msg)) => last = msg,
                Err(LaunchError::Other(msg)) => panic!("{msg}"),
            }
        }
        panic!("dovecot could not bind its ports in 4 attempts: {last}")
    }

    /// One instance for the whole test binary, started on first use. Use
    /// [`add_user`](Self::add_user) to keep tests apart. It is never dropped: the wrapper
    /// stops it when the test process exits.
    pub fn shared() -> Option<&'static Dovecot> {
        static SHARED: OnceLock<Option<Dovecot>> = OnceLock::new();
        SHARED.get_or_init(Dovecot::start).as_ref()
    }

    /// Writes the directory layout, certificate, passwd-file and config.
    fn prepare(bins: Binaries, ports: Ports, namespace: Namespace, extra: &str) -> Dovecot {
        let root = super::is_root();
        let dir = super::make_temp_dir("mw-");
        let suffix = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("mw-x")
            .to_string();
        // Dovecot titles its processes "<instance_name>/<service>" (prefixing "dovecot-"
        // unless the name already starts with it).
        let instance = format!("dovecot-{suffix}");
        let conf = dir.join("dovecot.conf");
        let (mail_user, internal_user, internal_group, login_user) = if root {
            ensure_system_user("vmail");
            ensure_system_user("dovecot");
            ensure_system_user("dovenull");
            // Every IDLEing imap process holds an inotify instance of the one mail uid.
            let current: u64 = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            if current < 1024 {
                let _ = std::fs::write("/proc/sys/fs/inotify/max_user_instances", "1024");
            }
            (
                "vmail".to_string(),
                "dovecot".to_string(),
                "dovecot".to_string(),
                "dovenull".to_string(),
            )
        } else {
            let user = command_output("id", &["-un"]).expect("id -un");
            let group = command_output("id", &["-gn"]).expect("id -gn");
            (user.clone(), user.clone(), group, user)
        };
        let mail_uid = id_of("-u", &mail_user);
        let mail_gid = id_of("-g", &mail_user);
        for sub in ["state", "log", "mail", "ssl", "run"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create dovecot dirs");
        }
        use std::os::unix::fs::PermissionsExt;
        let perm = |p: &Path, mode: u32| {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
        };
        if root {
            // The mail user must traverse to its home, the auth process read the passwd-file.
            let mut p: Option<&Path> = Some(&dir);
            while let Some(path) = p {
                if path == Path::new("/") {
                    break;
                }
                if let Ok(meta) = std::fs::metadata(path) {
                    perm(path, meta.permissions().mode() | 0o001);
                }
                p = path.parent();
            }
            perm(&dir.join("run"), 0o755);
        }
        let cert = test_cert();
        std::fs::write(dir.join("ssl/cert.pem"), &cert.cert_pem).expect("write cert");
        std::fs::write(dir.join("ssl/key.pem"), &cert.key_pem).expect("write key");
        perm(&dir.join("ssl/key.pem"), 0o600);

        let dc = Dovecot {
            dir: dir.clone(),
            conf: conf.clone(),
            instance: instance.clone(),
            ports,
            mail_uid,
            mail_gid,
            root,
            bins,
            cert_pem: cert.cert_pem.clone(),
            running: Mutex::new(None),
            passwd_lock: Mutex::new(()),
            namespace,
            user_pool: Mutex::new(Vec::new()),
        };
        std::fs::write(dir.join("passwd"), "").expect("write passwd");
        perm(&dir.join("passwd"), 0o644);
        chown_if_root(&dc, &dir.join("mail"));
        dc.append_users(&[dc.alice(), dc.bob()]);
        for name in ["alice", "bob"] {
            let home = dir.join("mail").join(name);
            std::fs::create_dir_all(&home).expect("create user home");
            chown_if_root(&dc, &home);
        }
        dc.refill_pool();

        let client_limit = if root {
            4000
        } else {
            let hard: u64 = command_output("sh", &["-c", "ulimit -Hn"])
                .and_then(|s| s.parse().ok())
                .unwrap_or(4096);
            hard.saturating_sub(100).clamp(100, 4000)
        };
        let dh = if Path::new("/usr/share/dovecot/dh.pem").is_file() {
            "ssl_dh = </usr/share/dovecot/dh.pem"
        } else {
            ""
        };
        let chroot_off = if root {
            ""
        } else {
            "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\nservice pop3-login {\n  chroot =\n}\n"
        };
        let d = dir.display();
        let namespace_prefix = match namespace.prefix() {
            "" => String::new(),
            p => format!("prefix = {p}"),
        };
        let separator = namespace.separator();
        let Ports {
            imap,
            imaps,
            pop3,
            pop3s,
        } = ports;
        let config = format!(
            r#"# generated by mailwire tests/support/dovecot.rs; does not read /etc/dovecot
base_dir = {d}/run
state_dir = {d}/state
instance_name = {instance}
log_path = {d}/log/dovecot.log
info_log_path = {d}/log/dovecot.log
debug_log_path = {d}/log/dovecot.log

protocols = imap pop3
listen = 127.0.0.1
shutdown_clients = yes

default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
last_valid_uid = 0
first_valid_gid = {mail_gid}
mail_uid = {mail_uid}
mail_gid = {mail_gid}

ssl = yes
ssl_cert = <{d}/ssl/cert.pem
ssl_key = <{d}/ssl/key.pem
{dh}

disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256
auth_cache_size = 1M
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}

mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  {namespace_prefix}
  separator = {separator}
  mailbox Drafts {{
    special_use = \Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \Junk
    auto = subscribe
  }}
}}
pop3_uidl_format = %08Xu%08Xv

default_process_limit = 1000
default_client_limit = {client_limit}
service imap-login {{
  service_count = 0
  process_min_avail = 2
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  service_count = 0
  process_min_avail = 2
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
    ssl = yes
  }}
}}
service imap {{
  service_count = 0
  process_min_avail = 2
}}
service pop3 {{
  service_count = 0
  process_min_avail = 1
}}
service auth {{
  client_limit = 8000
}}
{chroot_off}
service doveadm {{
  unix_listener doveadm-server {{
    mode = 0600
  }}
}}
"#
        );
        let config = format!("{config}\n# extra settings of the test\n{extra}\n");
        std::fs::write(&conf, config).expect("write dovecot.conf");
        dc
    }

    /// Starts the wrapper and waits until all four ports are ready.
    fn launch(&self) -> Result<(), LaunchError> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = running.take() {
            stop_wrapper(old, true);
        }
        let log = self.dir.join("log/wrapper.log");
        let _ = std::fs::remove_file(&log);
        let log_file = std::fs::File::create(&log).expect("create wrapper.log");
        let main_log = self.dir.join("log/dovecot.log");
        let main_log_start = std::fs::metadata(&main_log).map(|m| m.len()).unwrap_or(0);
        // $1 dovecot  $2 conf  $3 dir  $4 instance  $5 root?
        // On a line "keep" or EOF: TERM the master and all its children (login processes
        // would otherwise linger for seconds with open client connections), wait up to
        // 2 s, KILL survivors (by pid), then remove the directory unless told "keep".
        let script = r#"
[ "$5" = 1 ] || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$1" -F -c "$2" </dev/null &
pid=$!
read -r cmd
kids=""
for s in /proc/[0-9]*/stat; do
  read -r p c st pp rest < "$s" 2>/dev/null && [ "$pp" = "$pid" ] && kids="$kids $p"
done
kill -TERM "$pid" $kids 2>/dev/null
wait "$pid"
i=0
alive() {
  for k in $kids; do
    read -r p c st rest < "/proc/$k/stat" 2>/dev/null && [ "$st" != Z ] && return 0
  done
  return 1
}
while [ $i -lt 40 ] && alive; do sleep 0.05; i=$((i+1)); done
[ -n "$kids" ] && kill -KILL $kids 2>/dev/null
[ "$cmd" = keep ] || rm -rf -- "$3"
"#;
        let mut wrapper = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&self.bins.dovecot)
            .arg(&self.conf)
            .arg(&self.dir)
            .arg(&self.instance)
            .arg(if self.root { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file)
            .spawn()
            .expect("spawn sh wrapper for dovecot");
        let stdin = wrapper.stdin.take();
        *running = Some(Running { wrapper, stdin });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let main = std::fs::read(&main_log).unwrap_or_default();
            let logs = format!(
                "{}{}",
                std::fs::read_to_string(&log).unwrap_or_default(),
                String::from_utf8_lossy(main.get(main_log_start as usize..).unwrap_or_default())
            );
            let exited = running
                .as_mut()
                .map(|r| matches!(r.wrapper.try_wait(), Ok(Some(_))))
                .unwrap_or(true);
            if logs.contains("Fatal:") || exited {
                let msg = format!(
                    "dovecot failed to start ({}):\n{}",
                    self.dir.display(),
                    self.log_tail(30)
                );
                if let Some(r) = running.take() {
                    stop_wrapper(r, true);
                }
                return Err(if logs.contains("Address already in use") {
                    LaunchError::PortTaken(msg)
                } else {
                    LaunchError::Other(msg)
                });
            }
            if self.is_ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let msg = format!(
                    "dovecot did not come up within {START_TIMEOUT:?} ({}); log:\n{}",
                    self.dir.display(),
                    self.log_tail(30)
                );
                if let Some(r) = running.take() {
                    stop_wrapper(r, true);
                }
                return Err(LaunchError::Other(msg));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Real greetings on the plain ports, a TLS handshake on the TLS ports.
    fn is_ready(&self) -> bool {
        greets(self.ports.imap, "* OK")
            && greets(self.ports.pop3, "+OK")
            && tls_accepts(self.ports.imaps)
            && tls_accepts(self.ports.pop3s)
    }

    /// Stops the server and starts it again on the same ports, with the same users and
    /// mail. All connections are dropped. Panics if it does not come back.
    pub fn restart(&self) {
        let mut last = String::new();
        for _ in 0..5 {
            match self.launch() {
                Ok(()) => return,
                Err(LaunchError::PortTaken(msg)) => {
                    last = msg;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(LaunchError::Other(msg)) => panic!("{msg}"),
            }
        }
        panic!("dovecot restart: ports stay taken: {last}")
    }

    /// Always "127.0.0.1".
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// All four ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// IMAP port (plaintext, STARTTLS offered).
    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }

    /// IMAPS port (implicit TLS).
    pub fn imaps_port(&self) -> u16 {
        self.ports.imaps
    }

    /// POP3 port (plaintext, STLS offered).
    pub fn pop3_port(&self) -> u16 {
        self.ports.pop3
    }

    /// POP3S port (implicit TLS).
    pub fn pop3s_port(&self) -> u16 {
        self.ports.pop3s
    }

    /// The server certificate (PEM); add it as a root to trust the server.
    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The server certificate file.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("ssl/cert.pem")
    }

    /// The instance directory (config, logs, passwd-file, mail).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The generated `dovecot.conf`.
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// How the personal namespace names folders.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The last `n` lines of the server log (and of the wrapper's stderr).
    pub fn log_tail(&self, n: usize) -> String {
        let mut out = String::new();
        for name in ["log/wrapper.log", "log/dovecot.log"] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(n);
            if !lines.is_empty() {
                let _ = writeln!(out, "--- {name}");
            }
            for line in &lines[start..] {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    /// The built-in user alice/alicepw.
    pub fn alice(&self) -> User {
        User {
            name: "alice".into(),
            password: "alicepw".into(),
        }
    }

    /// The built-in user bob/bobpw.
    pub fn bob(&self) -> User {
        User {
            name: "bob".into(),
            password: "bobpw".into(),
        }
    }

    /// Hands out a fresh user with a unique name, a random password and an empty mailbox.
    ///
    /// Dovecot's passwd-file driver re-reads a changed file, but at most once per second
    /// (it stats the file once per second of its event loop), so a user appended just now
    /// may be unknown for up to a second. Hence users are pre-registered in batches of
    /// 200 and handed out from that pool; refilling waits for the next second once.
    pub fn add_user(&self) -> User {
        let mut pool = self.user_pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.is_empty() {
            *pool = self.refill_batch();
            let appended = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            // Wait for the next whole second (plus a margin) so the auth process re-reads.
            let wait = Duration::from_millis(1050 - u64::from(appended.subsec_millis()));
            std::thread::sleep(wait);
        }
        let user = pool.pop().expect("refilled user pool");
        drop(pool);
        let home = self.dir.join("mail").join(&user.name);
        std::fs::create_dir_all(&home).expect("create user home");
        chown_if_root(self, &home);
        user
    }

    /// Pre-registers the first batch (before the server reads the passwd-file).
    fn refill_pool(&self) {
        let batch = self.refill_batch();
        *self.user_pool.lock().unwrap_or_else(|e| e.into_inner()) = batch;
    }

    fn refill_batch(&self) -> Vec<User> {
        let users: Vec<User> = (0..USER_BATCH)
            .map(|_| User {
                name: format!(
                    "u{}{}",
                    SEQ.fetch_add(1, Ordering::Relaxed),
                    super::random_token(4)
                ),
                password: format!("pw{}", super::random_token(10)),
            })
            .collect();
        self.append_users(&users);
        users.into_iter().rev().collect()
    }

    /// Appends passwd-file lines (one write) and creates the homes of named users.
    fn append_users(&self, users: &[User]) {
        let mut text = String::new();
        for u in users {
            let home = self.dir.join("mail").join(&u.name);
            let _ = writeln!(
                text,
                "{}:{{PLAIN}}{}:{}:{}::{}::",
                u.name,
                u.password,
                self.mail_uid,
                self.mail_gid,
                home.display()
            );
        }
        let _guard = self.passwd_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("passwd"))
            .expect("open passwd");
        f.write_all(text.as_bytes()).expect("append passwd");
    }

    /// Rotates `user`'s password in the passwd-file to `password` and makes the server use
    /// it: waits until the auth process re-reads the file (it stats it at most once per
    /// second) and flushes the auth cache entry (`doveadm auth cache flush`), so the old
    /// password is refused from now on. Connections already logged in stay (see
    /// [`kick`](Self::kick)).
    pub fn set_password(&self, user: &str, password: &str) {
        let _guard = self.passwd_lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.dir.join("passwd");
        let text = std::fs::read_to_string(&path).expect("read passwd");
        let prefix = format!("{user}:{{PLAIN}}");
        let mut found = false;
        let mut out = String::with_capacity(text.len() + password.len());
        for line in text.lines() {
            match line.strip_prefix(&prefix) {
                Some(rest) if !found => {
                    found = true;
                    let (_, tail) = rest.split_once(':').expect("passwd line has fields");
                    let _ = writeln!(out, "{prefix}{password}:{tail}");
                }
                _ => {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        assert!(found, "no passwd-file line for {user:?}");
        let tmp = self.dir.join("passwd.new");
        std::fs::write(&tmp, out).expect("write passwd");
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644));
        }
        std::fs::rename(&tmp, &path).expect("replace passwd");
        drop(_guard);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        std::thread::sleep(Duration::from_millis(1050 - u64::from(now.subsec_millis())));
        let out = Command::new(&self.bins.doveadm)
            .arg("-c")
            .arg(&self.conf)
            .args(["auth", "cache", "flush", user])
            .output()
            .expect("run doveadm auth cache flush");
        assert!(
            out.status.success(),
            "doveadm auth cache flush failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The maildir directory of `folder` of `user` ("INBOX" is the Maildir root; other
    /// folders use the Maildir++ layout: "Archive/2024" is `.Archive.2024`), created with
    /// cur/new/tmp if missing. `folder` names the levels with `/` and without the
    /// namespace prefix whatever [`Namespace`] the server has: "Archive/2024" is
    /// `INBOX.Archive.2024` to clients of [`Namespace::InboxDot`].
    pub fn maildir(&self, user: &str, folder: &str) -> PathBuf {
        let home = self.dir.join("mail").join(user);
        assert!(
            home.is_dir(),
            "unknown user {user:?} (no {})",
            home.display()
        );
        let root = home.join("Maildir");
        let path = if folder.eq_ignore_ascii_case("INBOX") {
            root.clone()
        } else {
            let name: Vec<String> = folder.split('/').map(mutf7).collect();
            assert!(
                name.iter().all(|s| !s.is_empty() && !s.contains('.')),
                "folder name {folder:?} cannot be stored in Maildir++"
            );
            root.join(format!(".{}", name.join(".")))
        };
        for p in [&root, &path] {
            if !p.join("tmp").is_dir() {
                std::fs::create_dir_all(p).expect("create maildir");
                chown_if_root(self, p);
                for sub in ["cur", "new", "tmp"] {
                    let s = p.join(sub);
                    std::fs::create_dir_all(&s).expect("create maildir subdir");
                    chown_if_root(self, &s);
                }
                if p != &root {
                    let marker = p.join("maildirfolder");
                    std::fs::write(&marker, "").expect("write maildirfolder");
                    chown_if_root(self, &marker);
                }
            }
        }
        path
    }

    /// Stores `messages` in `folder` of `user` (unseen, no flags) by writing maildir files
    /// directly; returns the file paths.
    pub fn seed<M: AsRef<[u8]>>(
        &self,
        user: impl AsRef<str>,
        folder: &str,
        messages: &[M],
    ) -> Vec<PathBuf> {
        let dir = self.maildir(user.as_ref(), folder);
        messages
            .iter()
            .map(|m| self.write_message(&dir, m.as_ref(), ""))
            .collect()
    }

    /// Stores one message with maildir flag letters (e.g. "S" seen, "FS" flagged+seen,
    /// "R" answered, "T" deleted, "D" draft); returns the file path.
    pub fn seed_with_flags(
        &self,
        user: impl AsRef<str>,
        folder: &str,
        message: &[u8],
        flags: &str,
    ) -> PathBuf {
        let dir = self.maildir(user.as_ref(), folder);
        self.write_message(&dir, message, flags)
    }

    fn write_message(&self, dir: &Path, message: &[u8], flags: &str) -> PathBuf {
        let mut letters: Vec<char> = flags.chars().collect();
        assert!(
            letters.iter().all(|c| c.is_ascii_uppercase()),
            "maildir flags must be letters like \"FS\", got {flags:?}"
        );
        letters.sort_unstable();
        letters.dedup();
        let flags: String = letters.into_iter().collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "{}.M{}P{}Q{}.mw,S={}:2,{flags}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            message.len()
        );
        let tmp = dir.join("tmp").join(&name);
        std::fs::write(&tmp, message).expect("write message");
        chown_if_root(self, &tmp);
        let dest = dir.join("cur").join(&name);
        std::fs::rename(&tmp, &dest).expect("move message into cur/");
        dest
    }

    /// The server's own count of `user`'s logged-in connections (IMAP + POP3), from
    /// `doveadm who`. Updated asynchronously: a just-closed connection may count for a
    /// few milliseconds more.
    pub fn connections(&self, user: &str) -> usize {
        let out = Command::new(&self.bins.doveadm)
            .arg("-c")
            .arg(&self.conf)
            .args(["who", user])
            .output()
            .expect("run doveadm who");
        assert!(
            out.status.success(),
            "doveadm who failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let mut cols = line.split_whitespace();
                (cols.next() == Some(user))
                    .then(|| cols.next().and_then(|n| n.parse::<usize>().ok()))
                    .flatten()
            })
            .sum()
    }

    /// Closes all of `user`'s server-side connections (`doveadm kick` signals that user's
    /// imap/pop3 processes: IMAP clients get `* BYE Server shutting down.`, then EOF) and
    /// waits (up to 5 s) until the server no longer counts them. Other users' connections
    /// are untouched. No connections: does nothing.
    pub fn kick(&self, user: &str) {
        let out = Command::new(&self.bins.doveadm)
            .arg("-c")
            .arg(&self.conf)
            .args(["kick", user])
            .output()
            .expect("run doveadm kick");
        // With nobody to kick doveadm exits non-zero without a message: not an error.
        assert!(
            out.status.success() || out.stderr.is_empty(),
            "doveadm kick failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.connections(user) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Pids of this instance's processes (titles start with the instance name).
    pub fn processes(&self) -> Vec<u32> {
        instance_processes(&self.instance)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(r) = running {
            stop_wrapper(r, false);
        }
        // Normally the wrapper removed it; make sure.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn chown_if_root(dc: &Dovecot, path: &Path) {
    if dc.root {
        chown(path, dc.mail_uid, dc.mail_gid);
    }
}

/// Tells the wrapper to stop Dovecot (keeping the directory or not) and waits for it.
fn stop_wrapper(mut r: Running, keep_dir: bool) {
    if let Some(mut stdin) = r.stdin.take() {
        if keep_dir {
            let _ = stdin.write_all(b"keep\n");
        }
        drop(stdin);
    }
    let _ = r.wrapper.wait();
}

/// Pids whose command line starts with "<instance>/" (Dovecot's process titles).
fn instance_processes(instance: &str) -> Vec<u32> {
    let prefix = format!("{instance}/");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            cmdline.starts_with(prefix.as_bytes()).then_some(pid)
        })
        .collect()
}

fn connect(port: u16) -> Option<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    Some(s)
}

/// Connects and checks that the first line starts with `prefix`.
fn greets(port: u16, prefix: &str) -> bool {
    let Some(s) = connect(port) else {
        return false;
    };
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with(prefix)
}

/// Connects and completes a TLS handshake trusting the test certificate.
fn tls_accepts(port: u16) -> bool {
    let Some(s) = connect(port) else {
        return false;
    };
    test_cert().connector().connect("localhost", s).is_ok()
}
