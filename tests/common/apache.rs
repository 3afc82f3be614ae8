//! Debian's Apache httpd 2.4 (`apache2`) as a child process, for the tests
//! that compare mod_proxy_balancer's behaviour with fulcrum's (issue 20's
//! conversion of Apache balancer configurations).
//!
//! Each [`Apache`] runs from a fresh temporary directory that holds its
//! whole world: `httpd.conf` (ServerRoot, DefaultRuntimeDir, PidFile,
//! ErrorLog, `Mutex file:`, shared memory of mod_slotmem_shm, logs); the
//! system's `/etc/apache2` is never read. What was learnt about Debian's
//! package on the way:
//!
//! - The binary is `/usr/sbin/apache2`; `apache2ctl` would source
//!   `/etc/apache2/envvars` and read `/etc/apache2/apache2.conf`, so it is
//!   not used. The binary itself needs none of the `APACHE_*` variables
//!   unless the configuration says `${APACHE_LOG_DIR}` and the like (then
//!   it warns AH00111 "Config variable ${APACHE_LOG_DIR} is not defined"
//!   and keeps the text as it is); they are set to the temporary directory
//!   anyway, so that lines copied from Debian's configuration still work.
//! - Compiled in: core, mod_so, mod_watchdog, http_core, mod_log_config,
//!   mod_logio, mod_version, mod_unixd (`apache2 -l`). Everything else,
//!   the MPM included, is a `LoadModule` from /usr/lib/apache2/modules.
//!   mod_mime is left out: it refuses to start without a readable
//!   `TypesConfig` and a proxy does not need it.
//! - Installing the package tries to start the system service; in a
//!   container `policy-rc.d` usually denies it ("invoke-rc.d: policy-rc.d
//!   denied execution of start"), so nothing listens on port 80. If a
//!   system apache2 runs, it does not matter here: ports come from
//!   `free_port`.
//! - As root, httpd refuses `User root` (even `-t`: "AH00526: Syntax error
//!   on line N ... Apache has not been designed to serve pages while
//!   running as root"), so the children switch to `www-data`
//!   (else `daemon`). The parent keeps root and opens the logs, the
//!   listener and the shared memory before it forks, so the children need
//!   no rights on the temporary directory. Not root: `User`/`Group` are
//!   left out (httpd cannot switch anyway) and it runs as the caller.
//! - Errors before the ErrorLog is open (syntax, a port already bound) go
//!   to stderr, which is kept in `stderr.log` of the directory.
//! - With `-DFOREGROUND` the process started is httpd's parent; it forks
//!   the children into its process group. It is started in a process
//!   group of its own, so that dropping an [`Apache`] can signal the whole
//!   group (TERM, then KILL for whatever is left) and nothing outlives the
//!   test.
//! - One child process (event MPM, `ServerLimit 1`, 25 threads): the
//!   balancer's state lives in shared memory anyway, but one process keeps
//!   the backend connection pool in one place and the process count low.
//!   A site configuration may override these directives (last one wins).
//! - mod_ssl is loaded (with `SSLSessionCache` set, else it warns AH01873
//!   at every start). Where libssl3 is older than the OpenSSL Debian built
//!   apache2 against, it also warns AH01882 ("compiled against a newer
//!   library") twice; harmless for plain HTTP (upgrading libssl3 should
//!   silence it; not done here).
//! - Ready means AH00489 ("configured -- resuming normal operations", a
//!   notice, logged whatever the LogLevel) in the ErrorLog and the port
//!   accepting: the port alone would also accept if something else held
//!   it, while httpd exits on AH00072 "could not bind".
//! - What a member sees of a proxied request (no `ProxyPreserveHost`):
//!   the request line as sent, `Host` rewritten to the member's
//!   `127.0.0.1:PORT`, the client's other headers, then
//!   `X-Forwarded-For: 127.0.0.1`, `X-Forwarded-Host:` the client's Host,
//!   `X-Forwarded-Server: localhost` (the ServerName) and
//!   `Connection: Keep-Alive`.
//! - `FULCRUM_APACHE_LOGLEVEL` replaces `LogLevel warn`, e.g.
//!   `FULCRUM_APACHE_LOGLEVEL="debug proxy:trace2"` to see which member
//!   the balancer picked and why.

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

use super::net::free_port;
use super::TempPath;

/// Where Debian keeps httpd's loadable modules; a site configuration can
/// load more of them (`LoadModule lbmethod_bybusyness_module
/// /usr/lib/apache2/modules/mod_lbmethod_bybusyness.so`).
pub const MODULES: &str = "/usr/lib/apache2/modules";

/// The modules every configuration loads: (module name, file).
const LOADED: &[(&str, &str)] = &[
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_host_module", "mod_authz_host.so"),
    ("access_compat_module", "mod_access_compat.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("proxy_module", "mod_proxy.so"),
    ("proxy_http_module", "mod_proxy_http.so"),
    ("proxy_balancer_module", "mod_proxy_balancer.so"),
    ("lbmethod_byrequests_module", "mod_lbmethod_byrequests.so"),
    ("slotmem_shm_module", "mod_slotmem_shm.so"),
    ("headers_module", "mod_headers.so"),
    ("status_module", "mod_status.so"),
    ("rewrite_module", "mod_rewrite.so"),
    ("setenvif_module", "mod_setenvif.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
];

/// The httpd binary, /usr/sbin/apache2, when Debian's apache2 package is
/// installed.
pub fn apache_bin() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/sbin/apache2");
    p.exists().then_some(p)
}

fn bin() -> PathBuf {
    apache_bin().expect(
        "Apache httpd is not installed: these tests need Debian's `apache2` \
         package (apt-get install apache2) at /usr/sbin/apache2",
    )
}

/// The user the children switch to when the test runs as root.
fn run_user() -> &'static str {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|l| l.starts_with("www-data:")) {
        "www-data"
    } else {
        "daemon"
    }
}

/// Everything of `httpd.conf` before the site configuration, for a server
/// rooted at `dir` listening on 127.0.0.1:`port`. Its line count does not
/// depend on the arguments or on the user (see [`site_line`]).
fn preamble(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let mut c = format!(
        "# Written by tests/common/apache.rs.
ServerRoot \"{d}\"
DefaultRuntimeDir \"{d}\"
PidFile \"{d}/httpd.pid\"
ErrorLog \"{d}/error.log\"
Mutex file:{d} default
DocumentRoot \"{d}/htdocs\"
Listen 127.0.0.1:{port}
ServerName localhost
"
    );
    for (name, file) in LOADED {
        c.push_str(&format!("LoadModule {name} {MODULES}/{file}\n"));
    }
    c.push_str(&format!(
        "SSLSessionCache \"shmcb:{d}/ssl_scache(512000)\"\n"
    ));
    if rustix::process::geteuid().is_root() {
        let u = run_user();
        c.push_str(&format!("User {u}\nGroup {u}\n"));
    } else {
        c.push_str("# not root: no User\n# not root: no Group\n");
    }
    let level = std::env::var("FULCRUM_APACHE_LOGLEVEL").unwrap_or_else(|_| "warn".to_string());
    let level = level.lines().next().unwrap_or("warn");
    c.push_str(&format!(
        "LogLevel {level}
LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{{Cookie}}i\\\" route=%{{BALANCER_WORKER_ROUTE}}e worker=%{{BALANCER_WORKER_NAME}}e\" fulcrum
CustomLog \"{d}/access.log\" fulcrum
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 1
MaxSpareThreads 50
# The site configuration follows.
"
    ));
    c
}

/// The line number in `httpd.conf` of line `n` (from 1) of the site
/// configuration, to read httpd's "Syntax error on line N" against it.
pub fn site_line(n: usize) -> usize {
    preamble(Path::new("/"), 1).lines().count() + n
}

/// Writes `httpd.conf` (and the empty DocumentRoot) into `dir`.
fn write_conf(dir: &Path, site_conf: &str, port: u16) -> PathBuf {
    std::fs::create_dir_all(dir.join("htdocs")).expect("create htdocs");
    let mut text = preamble(dir, port);
    text.push_str(site_conf);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let conf = dir.join("httpd.conf");
    std::fs::write(&conf, text).expect("write httpd.conf");
    conf
}

/// `apache2 -d DIR -f DIR/httpd.conf`, with Debian's variables pointing
/// into `dir` and nothing else from the caller's environment but PATH.
fn command(dir: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
        )
        .env("LANG", "C")
        .env("APACHE_CONFDIR", dir)
        .env("APACHE_RUN_DIR", dir)
        .env("APACHE_LOCK_DIR", dir)
        .env("APACHE_LOG_DIR", dir)
        .env("APACHE_PID_FILE", dir.join("httpd.pid"))
        .env("APACHE_RUN_USER", run_user())
        .env("APACHE_RUN_GROUP", run_user())
        .arg("-d")
        .arg(dir)
        .arg("-f")
        .arg(conf)
        .stdin(Stdio::null());
    cmd
}

/// Runs `apache2 -t` on the configuration [`Apache::start`] would write
/// for `site_conf`: whether httpd accepts it, and all it printed. Two
/// shapes of refusal: a block that does not nest reads "apache2: Syntax
/// error on line N of .../httpd.conf: Expected </Proxy> but saw </Proxv>"
/// on one line, a directive's own error "AH00526: Syntax error on line N
/// of .../httpd.conf:" then the message on the next line; [`site_line`]
/// maps site lines to N.
pub fn config_test(site_conf: &str) -> (bool, String) {
    let dir = TempPath::dir("apache-t");
    let conf = write_conf(dir.path(), site_conf, free_port());
    let out = command(dir.path(), &conf)
        .arg("-t")
        .output()
        .expect("run apache2 -t");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The fields of /proc/PID/stat after the command name: state, ppid,
/// pgrp, ... (None: no such process).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ...": comm may hold anything.
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// A process's state letter ("S", "R", "Z" for a zombie, ...).
fn state(pid: u32) -> Option<String> {
    stat_fields(pid)?.into_iter().next()
}

/// Live (not zombie) processes whose process group is `pgid`, from /proc.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let pgid = pgid.to_string();
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            stat_fields(pid)
                .is_some_and(|f| f.len() > 2 && f[0] != "Z" && f[0] != "X" && f[2] == pgid)
        })
        .collect()
}

/// A running httpd (`apache2 -DFOREGROUND`) in its own process group,
/// all of which is stopped when dropped.
pub struct Apache {
    child: Child,
    port: u16,
    dir: TempPath,
}

impl Apache {
    /// Starts httpd on the standard preamble (see the module's comment)
    /// followed by `site_conf`, listening on 127.0.0.1:`port`, and waits
    /// (10 s at most) until httpd says it is configured and the port
    /// accepts connections. Panics with httpd's output if it exits or does
    /// not come up. The site configuration must leave `ErrorLog` alone:
    /// readiness is read there.
    pub fn start(site_conf: &str, port: u16) -> Apache {
        use std::os::unix::process::CommandExt;
        let dir = TempPath::dir("apache");
        let conf = write_conf(dir.path(), site_conf, port);
        let stderr = File::create(dir.path().join("stderr.log")).expect("stderr.log");
        let child = command(dir.path(), &conf)
            .arg("-DFOREGROUND")
            .stdout(Stdio::from(stderr.try_clone().expect("dup")))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .spawn()
            .expect("spawn apache2");
        let a = Apache { child, port, dir };
        // The port accepting is not enough: if something else holds it,
        // httpd exits on "could not bind" while that other listener
        // answers. AH00489 ("configured -- resuming normal operations", a
        // notice, which httpd logs whatever the LogLevel) comes after its
        // listeners are open.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if a.error_log().contains("AH00489") && TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                break;
            }
            // Not reaped here: Drop signals the group, which the zombie
            // keeps reserved.
            if state(a.pid()).is_none_or(|s| s == "Z" || s == "X") {
                panic!("apache2 exited before listening on {port}:\n{}", a.output());
            }
            assert!(
                Instant::now() < deadline,
                "apache2 did not listen on {port} within 10 s:\n{}",
                a.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
        a
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of httpd's parent, also its process group's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its temporary directory (ServerRoot).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The ErrorLog so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The access log so far, one line a request: `%h %l %u %t "%r" %>s %b
    /// "%{Cookie}i" route=%{BALANCER_WORKER_ROUTE}e
    /// worker=%{BALANCER_WORKER_NAME}e`. httpd writes a line when the
    /// request is done, after the answer went out; poll for it.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// What httpd printed on stdout/stderr (errors before the ErrorLog
    /// was open), then the ErrorLog: for failure messages.
    pub fn output(&self) -> String {
        let early = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        format!("{early}{}", self.error_log())
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // The parent is not reaped until the end, so the group id cannot
        // be reused by someone else meanwhile (a zombie keeps it).
        let pgid = self.child.id();
        let Some(group) = Pid::from_raw(pgid as i32) else {
            return;
        };
        let _ = kill_process_group(group, Signal::TERM);
        // httpd's parent stops its children (SIGKILL after 3 s or so).
        let deadline = Instant::now() + Duration::from_secs(5);
        while !group_members(pgid).is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = kill_process_group(group, Signal::KILL);
        let _ = self.child.wait();
    }
}
