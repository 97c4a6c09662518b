//! User networks through the real `slipway docker`, a real server and real runc (issue 16): two busybox
//! containers on a network, one serving a file with `httpd`, the other fetching it by container name and by
//! alias; a container started later resolves at once; `--network none` has no interface but loopback; another
//! session's network with the same subnet never meets this one; `docker network inspect` and `docker inspect`
//! show Docker's fields; and once everything is removed the server holds no namespace, interface, mount or
//! process of it (the host's own interfaces never change at all).

use std::path::Path;

use anyhow::{ensure, Result};

use crate::commands::{server, Cli};
use crate::support::server::Server;

/// busybox httpd serving `text` as its index page on port 80.
fn web(text: &str) -> String {
    format!("mkdir -p /w && echo '{text}' > /w/index.html && exec httpd -f -p 80 -h /w")
}

/// The host's network interfaces (of the test's, i.e. the host's, namespace).
fn host_interfaces() -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Network namespaces the server process holds open.
fn held_namespaces(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("net:["))
                .count()
        })
        .unwrap_or(0)
}

/// What the server still holds of containers and networks: namespaces, child processes, mounts below its data.
pub(crate) fn leftovers(server: &Server) -> Vec<String> {
    let pid = server.pid();
    let mut left = Vec::new();
    let namespaces = held_namespaces(pid);
    if namespaces > 0 {
        left.push(format!("{namespaces} network namespaces held"));
    }
    let children = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
                .filter(|stat| {
                    let ppid = stat
                        .rsplit_once(") ")
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1));
                    ppid == Some(pid.to_string().as_str())
                })
                .count()
        })
        .unwrap_or(0);
    if children > 0 {
        left.push(format!("{children} child processes"));
    }
    let data = server.data.path().to_string_lossy().into_owned();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let under: Vec<&str> = mounts.lines().filter(|l| l.contains(&data)).collect();
    if !under.is_empty() {
        left.push(format!("mounts: {under:?}"));
    }
    left
}

/// A plain HTTP/1.0 GET of `/` at `addr`: the whole answer.
fn http_get(addr: &str) -> Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// An HTTP GET of `/` on port 80 of `host` from a throwaway container on `network` (busybox `nc`: Debian's
/// static busybox `wget` crashes in its resolver here): the page's body, or None when it fails.
fn fetch(cli: &Cli, network: &str, host: &str) -> Result<Option<String>> {
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 80");
    let ran = cli.docker(&[
        "run",
        "--rm",
        "--network",
        network,
        "busybox",
        "sh",
        "-c",
        &script,
    ])?;
    Ok(ran
        .out
        .split_once("\r\n\r\n")
        .filter(|_| ran.code == 0)
        .map(|(_, body)| body.to_string()))
}

#[test]
fn containers_on_a_user_network_find_each_other_by_name_and_alias_and_other_sessions_never_do() -> Result<()>
{
    let interfaces = host_interfaces()?;
    let Some(server) = server("networks-dns", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let a = Cli::new(&server)?;
    a.ok(&["pull", "-q", "busybox"])?;
    let id = a.ok(&["network", "create", "app"])?;
    assert_eq!(
        held_namespaces(server.pid()),
        1,
        "the network's namespace, held by the server"
    );
    ensure!(
        id.trim().len() == 64,
        "docker network create prints the id: {id:?}"
    );
    let serve = web("hello from a");
    a.ok(&[
        "run",
        "-d",
        "--name",
        "site",
        "--network",
        "app",
        "--network-alias",
        "www",
        "-p",
        "80",
        "busybox",
        "sh",
        "-c",
        &serve,
    ])?;
    assert_eq!(
        fetch(&a, "app", "site")?.as_deref(),
        Some("hello from a\n"),
        "by name"
    );
    assert_eq!(
        fetch(&a, "app", "www")?.as_deref(),
        Some("hello from a\n"),
        "by alias"
    );
    assert_eq!(fetch(&a, "bridge", "site")?, None, "not from the default network");

    // A name added later resolves for a container that was asking before it existed.
    let ask = "for i in $(seq 1 40); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 late 80 && exit 0; \
               sleep 0.25; done; exit 1";
    a.ok(&[
        "run",
        "-d",
        "--name",
        "client",
        "--network",
        "app",
        "busybox",
        "sh",
        "-c",
        ask,
    ])?;
    a.ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "app",
        "busybox",
        "sh",
        "-c",
        &web("late news"),
    ])?;
    assert_eq!(a.ok(&["wait", "client"])?, "0\n");
    let later = a.ok(&["logs", "client"])?;
    ensure!(later.ends_with("\r\n\r\nlate news\n"), "{later:?}");

    // -p keeps working for a container on a user network.
    let port = a.ok(&["port", "site", "80"])?;
    let host_port = port.trim().rsplit(':').next().unwrap_or_default().to_string();
    let body = http_get(&format!("127.0.0.1:{host_port}"))?;
    ensure!(
        body.ends_with("\r\n\r\nhello from a\n"),
        "published port {port:?}: {body:?}"
    );

    // --network none and the default network: loopback only.
    assert_eq!(
        a.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ls",
            "/sys/class/net"
        ])?,
        "lo\n"
    );
    assert_eq!(a.ok(&["run", "--rm", "busybox", "ls", "/sys/class/net"])?, "lo\n");
    let on_app = a.ok(&[
        "run",
        "--rm",
        "--network",
        "app",
        "busybox",
        "ls",
        "/sys/class/net",
    ])?;
    assert_eq!(on_app, "eth0\nlo\n");

    inspect_shows_dockers_fields(&a)?;
    another_session_never_meets_this_network(&server, &a)?;

    let in_use = a.docker(&["network", "rm", "app"])?;
    ensure!(
        in_use.code == 1 && in_use.err.contains("has active endpoints"),
        "{in_use:?}"
    );
    a.ok(&["rm", "-f", "site", "client", "late"])?;
    assert_eq!(a.ok(&["network", "rm", "app"])?, "app\n");
    let ls = a.ok(&["network", "ls"])?;
    ensure!(
        !ls.contains(" app ") && ls.contains(" bridge ") && ls.contains(" none "),
        "{ls}"
    );
    a.fails(
        &["network", "rm", "app"],
        1,
        "Error response from daemon: network app not found\n",
    )?;
    a.fails(
        &["network", "rm", "bridge"],
        1,
        "Error response from daemon: bridge is a pre-defined network and cannot be removed\n",
    )?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left behind: {left:?}");
    drop(server);
    assert_eq!(
        host_interfaces()?,
        interfaces,
        "the host's interfaces never change"
    );
    Ok(())
}

/// `docker network inspect` and `docker inspect` show Docker's fields.
fn inspect_shows_dockers_fields(a: &Cli) -> Result<()> {
    let inspected: serde_json::Value = serde_json::from_str(&a.ok(&["network", "inspect", "app"])?)?;
    let n = &inspected[0];
    assert_eq!(
        (n["Name"].as_str(), n["Driver"].as_str(), n["Scope"].as_str()),
        (Some("app"), Some("bridge"), Some("local"))
    );
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "172.18.0.0/16");
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "172.18.0.1");
    let site = n["Containers"]
        .as_object()
        .and_then(|c| c.values().find(|e| e["Name"] == "site"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(site["IPv4Address"], "172.18.0.2/16", "{n}");
    let template =
        "{{.NetworkSettings.Networks.app.IPAddress}} {{json .NetworkSettings.Networks.app.Aliases}}";
    assert_eq!(
        a.ok(&["inspect", "-f", template, "site"])?,
        "172.18.0.2 [\"www\"]\n"
    );
    Ok(())
}

/// Another session: its own network of the same name gets the same subnet, and its containers neither resolve
/// nor reach this one's (the same address is its own container there).
fn another_session_never_meets_this_network(server: &Server, a: &Cli) -> Result<()> {
    let b = Cli::new(server)?;
    let a_id = a.ok(&["network", "inspect", "-f", "{{.Id}}", "app"])?;
    let hidden = b.docker(&["network", "inspect", a_id.trim()])?;
    ensure!(
        hidden.code == 1 && hidden.err == format!("Error: No such network: {}\n", a_id.trim()),
        "{hidden:?}"
    );
    ensure!(
        !b.ok(&["network", "ls"])?.contains(" app "),
        "another session's network is listed"
    );
    b.ok(&["network", "create", "app"])?;
    let subnet: serde_json::Value = serde_json::from_str(&b.ok(&["network", "inspect", "app"])?)?;
    assert_eq!(
        subnet[0]["IPAM"]["Config"][0]["Subnet"], "172.18.0.0/16",
        "the same subnet as a's"
    );
    b.ok(&[
        "run",
        "-d",
        "--name",
        "mine",
        "--network",
        "app",
        "busybox",
        "sh",
        "-c",
        &web("hello from b"),
    ])?;
    assert_eq!(
        fetch(&b, "app", "172.18.0.2")?.as_deref(),
        Some("hello from b\n"),
        "same address, own container"
    );
    assert_eq!(fetch(&b, "app", "site")?, None, "a's name does not resolve in b");
    assert_eq!(fetch(&b, "app", "www")?, None, "nor a's alias");
    b.ok(&["rm", "-f", "mine"])?;
    b.ok(&["network", "rm", "app"])?;
    Ok(())
}

/// `docker network connect` plugs a running container in (an interface and a resolver at once), `--alias` and
/// `docker rename` change what it answers to, `disconnect` pulls it out, `prune` removes only unused networks.
#[test]
fn connect_rename_disconnect_and_prune_change_what_resolves() -> Result<()> {
    let Some(server) = server("networks-connect", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let a = Cli::new(&server)?;
    a.ok(&["pull", "-q", "busybox"])?;
    a.ok(&["network", "create", "--subnet", "10.9.0.0/24", "back"])?;
    a.ok(&["network", "create", "unused"])?;
    a.ok(&[
        "run",
        "-d",
        "--name",
        "api",
        "busybox",
        "sh",
        "-c",
        &web("api here"),
    ])?;
    assert_eq!(fetch(&a, "back", "api")?, None, "not on the network yet");
    assert_eq!(
        a.ok(&["network", "connect", "--alias", "svc", "back", "api"])?,
        ""
    );
    assert_eq!(fetch(&a, "back", "api")?.as_deref(), Some("api here\n"));
    assert_eq!(fetch(&a, "back", "svc")?.as_deref(), Some("api here\n"));
    let address = a.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.back.IPAddress}}",
        "api",
    ])?;
    assert_eq!(address, "10.9.0.2\n");
    a.fails(
        &["network", "connect", "back", "api"],
        1,
        "Error response from daemon: endpoint with name api already exists in network back\n",
    )?;

    assert_eq!(a.ok(&["rename", "api", "api2"])?, "");
    assert_eq!(
        fetch(&a, "back", "api2")?.as_deref(),
        Some("api here\n"),
        "the new name"
    );
    assert_eq!(fetch(&a, "back", "api")?, None, "not the old one");

    assert_eq!(a.ok(&["network", "prune", "-f"])?, "Deleted Networks:\nunused\n");
    a.fails(
        &["network", "create", "--subnet", "10.9.0.128/25", "clash"],
        1,
        "Error response from daemon: invalid pool request: Pool overlaps with other one on this address space\n",
    )?;
    assert_eq!(a.ok(&["network", "disconnect", "back", "api2"])?, "");
    assert_eq!(fetch(&a, "back", "svc")?, None, "gone from the network");
    a.ok(&["rm", "-f", "api2"])?;
    assert_eq!(a.ok(&["network", "prune", "-f"])?, "Deleted Networks:\nback\n");
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}
