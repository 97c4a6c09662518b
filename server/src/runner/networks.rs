//! User networks (`docker network create`, `docker run --network NAME --network-alias A`): each is a bridge
//! inside a network namespace of its own that the server holds ([`Netns`]), never the host's. A container on it
//! gets a veth pair, one end (`ethN`) in its namespace with an address of the network's subnet, the other end on
//! the bridge; the network's resolver ([`Resolver`]) answers container names and aliases at the gateway address.
//!
//! Networks belong to a session as containers do: another session neither lists nor finds them, and since each
//! network is its own namespace, two sessions' networks may use the same subnet (both get Docker's first pool,
//! 172.18.0.0/16) without ever meeting. See `docs/networks.md`.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use slipway::api::{
    ContainerEndpoint, NetworkCreate, NetworkEndpoint, NetworkInfo, DEFAULT_NETWORK, NO_NETWORK,
};

use super::dns::{Names, Resolver};
use super::networks_ns::Netns;

/// User networks one session may have at once.
pub const MAX_PER_SESSION: usize = 8;
/// User networks on the whole server at once (each is a namespace, a bridge and a resolver).
pub const MAX_NETWORKS: usize = 64;
/// `--network-alias` values one container may have.
pub const MAX_ALIASES: usize = 16;

/// A network request this server refuses, in dockerd's words where it has them.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    Exists(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error(
        "error while removing network: network {name} has active endpoints (name:{container:?} id:{id:?})"
    )]
    InUse {
        name: String,
        container: String,
        id: String,
    },
    #[error("endpoint with name {container} already exists in network {network}")]
    Connected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
    #[error("{0}")]
    Invalid(String),
    #[error("invalid pool request: Pool overlaps with other one on this address space")]
    Overlap,
    #[error(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )]
    NoPool,
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    Full(String),
    #[error("too many networks (limit {0})")]
    TooMany(usize),
    #[error("setting up network {name}: {source}")]
    Setup {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

impl NetworkError {
    /// The HTTP status it is answered with.
    pub fn status(&self) -> u16 {
        match self {
            NetworkError::NotFound(_) => 404,
            NetworkError::Exists(_) | NetworkError::Connected { .. } => 409,
            NetworkError::Predefined(_) | NetworkError::InUse { .. } => 403,
            NetworkError::TooMany(_) => 429,
            NetworkError::Setup { .. } => 500,
            _ => 400,
        }
    }
}

fn setup(name: &str) -> impl FnOnce(std::io::Error) -> NetworkError + '_ {
    move |source| NetworkError::Setup {
        name: name.to_string(),
        source,
    }
}

/// An IPv4 subnet: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// `10.1.0.0/24`; the address must be the subnet's first, the prefix 8 to 29 (room for a gateway and hosts).
    pub fn parse(text: &str) -> Result<Subnet, NetworkError> {
        let invalid =
            || NetworkError::Invalid(format!("invalid subnet {text:?}: want a CIDR like 10.1.0.0/24"));
        let (ip, prefix) = text.split_once('/').ok_or_else(invalid)?;
        let base: Ipv4Addr = ip.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        if !(8..=29).contains(&prefix) {
            return Err(NetworkError::Invalid(format!(
                "invalid subnet {text:?}: the prefix must be between /8 and /29 here"
            )));
        }
        let subnet = Subnet { base, prefix };
        if u32::from(base) & !subnet.mask() != 0 {
            return Err(invalid());
        }
        Ok(subnet)
    }

    fn mask(self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.base)
    }

    fn overlaps(self, other: Subnet) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }

    /// Host `n` of the subnet (1: the usual gateway).
    fn host(self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + n)
    }

    fn hosts(self) -> u32 {
        (1u32 << (32 - u32::from(self.prefix))) - 2
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// Docker's default pools for user networks: 172.18.0.0/16 to 172.31.0.0/16, then 192.168.0.0/20 upward.
fn default_pools() -> impl Iterator<Item = Subnet> {
    let big = (18..=31).map(|b| Subnet {
        base: Ipv4Addr::new(172, b, 0, 0),
        prefix: 16,
    });
    let small = (0..16).map(|i| Subnet {
        base: Ipv4Addr::new(192, 168, i * 16, 0),
        prefix: 20,
    });
    big.chain(small)
}

/// A container on a network.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub container_id: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub aliases: Vec<String>,
    /// Its interface in the container (`eth0`, `eth1`, ...).
    pub ifname: String,
    /// Its veth is plugged (the container runs): only then does the resolver answer for it.
    pub up: bool,
}

impl Endpoint {
    /// The names the resolver answers for it (lower case).
    pub fn dns_names(&self) -> Vec<String> {
        let mut names = vec![
            self.name.to_ascii_lowercase(),
            self.container_id[..12].to_string(),
        ];
        names.extend(self.aliases.iter().map(|a| a.to_ascii_lowercase()));
        names
    }

    fn mac(&self) -> String {
        let [a, b, c, d] = self.ip.octets();
        format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
    }

    /// The veth end on the network's bridge (inside the network's namespace: unique there).
    fn veth(&self) -> String {
        format!("ve{}", &self.container_id[..12])
    }
}

/// The endpoints of one network: the resolver's table.
#[derive(Debug, Default)]
pub struct Endpoints(Mutex<Vec<Endpoint>>);

impl Endpoints {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Endpoint>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Names for Endpoints {
    fn lookup(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let found: Vec<Ipv4Addr> = self
            .lock()
            .iter()
            .filter(|e| e.up && e.dns_names().iter().any(|n| n == name))
            .map(|e| e.ip)
            .collect();
        if found.is_empty() {
            return None;
        }
        // In turn, as Docker's resolver shuffles its answer: the containers of a scaled service all get asked.
        // (A counter would not do: a client asks A and AAAA, and every second answer would start alike.)
        let mut found = found;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as usize);
        let start = (nanos / 1000) % found.len();
        found.rotate_left(start);
        Some(found)
    }
}

/// One user network.
#[derive(Debug)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub session: String,
    pub created: u64,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub internal: bool,
    ns: Netns,
    endpoints: Arc<Endpoints>,
    /// Dropped with the network: its tasks end and its sockets close.
    _resolver: Resolver,
}

impl Network {
    pub fn info(&self) -> NetworkInfo {
        NetworkInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            created: self.created,
            driver: "bridge".into(),
            subnet: self.subnet.to_string(),
            gateway: self.gateway.to_string(),
            internal: self.internal,
            containers: self
                .endpoints
                .lock()
                .iter()
                .filter(|e| e.up)
                .map(|e| NetworkEndpoint {
                    container_id: e.container_id.clone(),
                    name: e.name.clone(),
                    ipv4_address: format!("{}/{}", e.ip, self.subnet.prefix),
                    mac_address: e.mac(),
                    aliases: e.aliases.clone(),
                })
                .collect(),
        }
    }

    /// The first free host address (not the gateway, not taken).
    fn free_address(&self, taken: &[Endpoint]) -> Result<Ipv4Addr, NetworkError> {
        (1..=self.subnet.hosts().min(4096))
            .map(|n| self.subnet.host(n))
            .find(|ip| *ip != self.gateway && taken.iter().all(|e| e.ip != *ip))
            .ok_or_else(|| NetworkError::Full(self.name.clone()))
    }

    /// Plug `e` into the container whose init is `pid`: a veth pair, its bridge end here, `ethN` there.
    fn plug(&self, e: &Endpoint, pid: i32) -> std::io::Result<()> {
        let veth = e.veth();
        self.ns.ip(format!(
            "link add {veth} type veth peer name {} address {} netns {pid}\nlink set {veth} master br0 up\n",
            e.ifname,
            e.mac()
        ))?;
        Netns::of_pid(pid).ip(format!(
            "addr add {}/{} dev {}\nlink set {} up\n",
            e.ip, self.subnet.prefix, e.ifname, e.ifname
        ))
    }

    /// Pull the veth pair of `e` (both ends go: the container keeps no interface of this network).
    fn unplug(&self, e: &Endpoint) {
        if let Err(err) = self.ns.ip(format!("link del {}\n", e.veth())) {
            tracing::debug!(network = %self.name, error = %err, "removing a veth (gone with its container?)");
        }
    }
}

/// A name docker accepts for a network or an alias: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 63 bytes here (a
/// DNS label's length, as it becomes one).
pub fn valid_name(name: &str) -> bool {
    name.len() <= 63
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// The server's user networks.
#[derive(Debug, Default)]
pub struct Networks {
    table: Mutex<HashMap<String, Arc<Network>>>,
    /// Outbound DNS is on (slirp4netns): the resolver refuses unknown names so the next nameserver is asked.
    pub outbound: bool,
}

/// The network a `docker run` asks for.
pub enum Choice {
    /// `bridge` (or none given): the container's own namespace, as before.
    Default,
    /// `--network none`: loopback only, never outbound.
    None,
    User(Arc<Network>),
}

impl Networks {
    pub fn new(outbound: bool) -> Networks {
        Networks {
            table: Mutex::default(),
            outbound,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Network>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Find a session's network by name, full id or unique id prefix.
    pub fn get(&self, session: &str, key: &str) -> Result<Arc<Network>, NetworkError> {
        let table = self.table();
        let mine = || table.values().filter(|n| n.session == session);
        if let Some(n) = mine().find(|n| n.name == key || n.id == key) {
            return Ok(n.clone());
        }
        let prefixed: Vec<_> = mine()
            .filter(|n| !key.is_empty() && n.id.starts_with(key))
            .collect();
        match prefixed.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(NetworkError::NotFound(key.to_string())),
        }
    }

    /// The session's networks, by name.
    pub fn list(&self, session: &str) -> Vec<NetworkInfo> {
        let mut rows: Vec<NetworkInfo> = self
            .table()
            .values()
            .filter(|n| n.session == session)
            .map(|n| n.info())
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        rows
    }

    /// What `--network` names, checked before anything is made.
    pub fn choose(
        &self,
        session: &str,
        network: Option<&str>,
        aliases: &[String],
    ) -> Result<Choice, NetworkError> {
        check_aliases(aliases)?;
        let choice =
            match network.unwrap_or(DEFAULT_NETWORK) {
                DEFAULT_NETWORK | "default" => Choice::Default,
                NO_NETWORK => Choice::None,
                "host" => return Err(NetworkError::Invalid(
                    "--network host is not offered here: a container never shares the server's own network \
                     namespace (create a network with docker network create instead)"
                        .into(),
                )),
                other if other.starts_with("container:") => return Err(NetworkError::Invalid(
                    "--network container:NAME is not offered here yet: put both containers on a user network"
                        .into(),
                )),
                name => Choice::User(self.get(session, name)?),
            };
        if !aliases.is_empty() && !matches!(choice, Choice::User(_)) {
            return Err(NetworkError::Invalid(
                "network-scoped alias is supported only for containers in user defined networks".into(),
            ));
        }
        Ok(choice)
    }

    /// `docker network create`: the namespace, its bridge with the gateway address, and the resolver. Blocking.
    pub fn create(
        &self,
        session: &str,
        request: &NetworkCreate,
        created: u64,
    ) -> Result<Arc<Network>, NetworkError> {
        let name = request.name.as_str();
        if !valid_name(name) {
            return Err(NetworkError::Invalid(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 63"
            )));
        }
        if [DEFAULT_NETWORK, NO_NETWORK, "host", "default"].contains(&name) {
            return Err(NetworkError::Exists(name.to_string()));
        }
        if let Some(driver) = request.driver.as_deref().filter(|d| *d != "bridge") {
            return Err(NetworkError::Invalid(format!(
                "plugin {driver:?} not found: only the bridge driver is offered here (one server, no swarm)"
            )));
        }
        let (subnet, gateway) = self.address_plan(session, request)?;
        let ns = Netns::create().map_err(setup(name))?;
        ns.ip(format!(
            "link set lo up\nlink add br0 type bridge\naddr add {gateway}/{} dev br0\nlink set br0 up\n",
            subnet.prefix
        ))
        .map_err(setup(name))?;
        let endpoints = Arc::new(Endpoints::default());
        let resolver =
            Resolver::start(&ns, gateway, endpoints.clone(), self.outbound).map_err(setup(name))?;
        let network = Arc::new(Network {
            id: super::random_id(),
            name: name.to_string(),
            session: session.to_string(),
            created,
            subnet,
            gateway,
            internal: request.internal,
            ns,
            endpoints,
            _resolver: resolver,
        });
        let mut table = self.table();
        // Checked again under the lock: another create of the same name may have finished meanwhile.
        self.check_room(&table, session, name, subnet)?;
        table.insert(network.id.clone(), network.clone());
        Ok(network)
    }

    /// The subnet and gateway for a new network of `session`: as asked, or Docker's first free pool.
    fn address_plan(
        &self,
        session: &str,
        request: &NetworkCreate,
    ) -> Result<(Subnet, Ipv4Addr), NetworkError> {
        let table = self.table();
        let taken: Vec<Subnet> = table
            .values()
            .filter(|n| n.session == session)
            .map(|n| n.subnet)
            .collect();
        let subnet = match &request.subnet {
            Some(text) => Subnet::parse(text)?,
            None => default_pools()
                .find(|p| taken.iter().all(|t| !t.overlaps(*p)))
                .ok_or(NetworkError::NoPool)?,
        };
        self.check_room(&table, session, &request.name, subnet)?;
        let gateway = match &request.gateway {
            Some(text) => text
                .parse::<Ipv4Addr>()
                .ok()
                .filter(|ip| subnet.contains(*ip) && *ip != subnet.base)
                .ok_or_else(|| {
                    NetworkError::Invalid(format!("invalid gateway {text:?} for subnet {subnet}"))
                })?,
            None => subnet.host(1),
        };
        Ok((subnet, gateway))
    }

    fn check_room(
        &self,
        table: &HashMap<String, Arc<Network>>,
        session: &str,
        name: &str,
        subnet: Subnet,
    ) -> Result<(), NetworkError> {
        let mine: Vec<&Arc<Network>> = table.values().filter(|n| n.session == session).collect();
        if mine.iter().any(|n| n.name == name) {
            return Err(NetworkError::Exists(name.to_string()));
        }
        if mine.iter().any(|n| n.subnet.overlaps(subnet)) {
            return Err(NetworkError::Overlap);
        }
        if mine.len() >= MAX_PER_SESSION {
            return Err(NetworkError::TooMany(MAX_PER_SESSION));
        }
        if table.len() >= MAX_NETWORKS {
            return Err(NetworkError::TooMany(MAX_NETWORKS));
        }
        Ok(())
    }

    /// `docker network rm`: refused while a running container is on it. The namespace, bridge, veths and
    /// resolver go once the last reference (a request in flight) is dropped.
    pub fn remove(&self, session: &str, key: &str) -> Result<String, NetworkError> {
        if [DEFAULT_NETWORK, NO_NETWORK, "host"].contains(&key) {
            return Err(NetworkError::Predefined(key.to_string()));
        }
        let network = self.get(session, key)?;
        if let Some(e) = network.endpoints.lock().iter().find(|e| e.up) {
            return Err(NetworkError::InUse {
                name: network.name.clone(),
                container: e.name.clone(),
                id: e.container_id.clone(),
            });
        }
        self.table().remove(&network.id);
        Ok(network.name.clone())
    }

    /// `docker network prune`: the session's networks no container (running or not) is on.
    pub fn prune(&self, session: &str) -> Vec<(String, String)> {
        let mut table = self.table();
        let unused: Vec<String> = table
            .values()
            .filter(|n| n.session == session && n.endpoints.lock().is_empty())
            .map(|n| n.id.clone())
            .collect();
        let mut gone: Vec<(String, String)> = unused
            .iter()
            .filter_map(|id| table.remove(id))
            .map(|n| (n.id.clone(), n.name.clone()))
            .collect();
        gone.sort_by(|a, b| a.1.cmp(&b.1));
        gone
    }

    /// Put a container on `network` with an address; `etc` is its `/etc` files' directory (its resolv.conf then
    /// names the network's resolver, its hosts file its address, when this is its first user network).
    pub fn join(
        &self,
        network: &Network,
        (container_id, name): (&str, &str),
        aliases: &[String],
        etc: &Path,
        hostname: &str,
    ) -> Result<Endpoint, NetworkError> {
        check_aliases(aliases)?;
        // Before this network's lock: `endpoints_of` takes every network's in turn.
        let index = self.endpoints_of(container_id).len();
        let mut endpoints = network.endpoints.lock();
        if endpoints.iter().any(|e| e.container_id == container_id) {
            return Err(NetworkError::Connected {
                container: name.to_string(),
                network: network.name.clone(),
            });
        }
        let endpoint = Endpoint {
            container_id: container_id.to_string(),
            name: name.to_string(),
            ip: network.free_address(&endpoints)?,
            aliases: aliases.to_vec(),
            ifname: format!("eth{index}"),
            up: false,
        };
        endpoints.push(endpoint.clone());
        drop(endpoints);
        if index == 0 && etc.is_dir() {
            write_etc(etc, hostname, &endpoint, network.gateway, self.outbound)
                .map_err(setup(&network.name))?;
        }
        Ok(endpoint)
    }

    /// Every (network, endpoint) a container has.
    pub fn endpoints_of(&self, container_id: &str) -> Vec<(Arc<Network>, Endpoint)> {
        let table = self.table();
        let mut found: Vec<(Arc<Network>, Endpoint)> = table
            .values()
            .filter_map(|n| {
                let e = n
                    .endpoints
                    .lock()
                    .iter()
                    .find(|e| e.container_id == container_id)
                    .cloned();
                e.map(|e| (n.clone(), e))
            })
            .collect();
        found.sort_by(|a, b| a.1.ifname.cmp(&b.1.ifname));
        found
    }

    /// The container's init process runs (`pid`): plug every network it is on. Blocking.
    pub fn plug_all(&self, container_id: &str, pid: i32) -> Result<(), NetworkError> {
        for (network, endpoint) in self.endpoints_of(container_id) {
            self.plug(&network, &endpoint, pid)?;
        }
        Ok(())
    }

    /// Plug one endpoint and let the resolver answer for it. Blocking.
    pub fn plug(&self, network: &Network, endpoint: &Endpoint, pid: i32) -> Result<(), NetworkError> {
        network.plug(endpoint, pid).map_err(setup(&network.name))?;
        set_up(network, &endpoint.container_id, true);
        Ok(())
    }

    /// The container stopped: its veths went with its namespace; the resolver stops answering for it.
    pub fn unplug_all(&self, container_id: &str) {
        for (network, _) in self.endpoints_of(container_id) {
            set_up(&network, container_id, false);
        }
    }

    /// `docker network disconnect`: the container leaves `network` (its veth pulled if it runs). Blocking.
    pub fn leave(&self, network: &Network, container_id: &str, name: &str) -> Result<(), NetworkError> {
        let mut endpoints = network.endpoints.lock();
        let Some(at) = endpoints.iter().position(|e| e.container_id == container_id) else {
            return Err(NetworkError::NotConnected {
                container: name.to_string(),
                network: network.name.clone(),
            });
        };
        let endpoint = endpoints.remove(at);
        drop(endpoints);
        if endpoint.up {
            network.unplug(&endpoint);
        }
        Ok(())
    }

    /// `docker rename`: the resolvers answer to the new name (and no longer to the old one).
    pub fn rename(&self, container_id: &str, name: &str) {
        for (network, _) in self.endpoints_of(container_id) {
            let mut endpoints = network.endpoints.lock();
            for e in endpoints.iter_mut().filter(|e| e.container_id == container_id) {
                e.name = name.to_string();
            }
        }
    }

    /// The container is removed: it leaves every network.
    pub fn forget(&self, container_id: &str) {
        for (network, _) in self.endpoints_of(container_id) {
            network
                .endpoints
                .lock()
                .retain(|e| e.container_id != container_id);
        }
    }

    /// What `docker inspect` shows of a container's networks.
    pub fn container_endpoints(&self, container_id: &str) -> Vec<ContainerEndpoint> {
        self.endpoints_of(container_id)
            .into_iter()
            .map(|(n, e)| ContainerEndpoint {
                network: n.name.clone(),
                network_id: n.id.clone(),
                ip_address: if e.up { e.ip.to_string() } else { String::new() },
                prefix_len: if e.up { n.subnet.prefix } else { 0 },
                gateway: if e.up {
                    n.gateway.to_string()
                } else {
                    String::new()
                },
                mac_address: if e.up { e.mac() } else { String::new() },
                aliases: e.aliases.clone(),
                dns_names: e.dns_names(),
            })
            .collect()
    }

    /// Networks of sessions `live` says are gone (their containers were removed first).
    pub fn remove_orphans(&self, live: impl Fn(&str) -> bool) -> usize {
        let mut table = self.table();
        let before = table.len();
        table.retain(|_, n| live(&n.session));
        before - table.len()
    }

    /// Server shutdown: every network goes (namespaces, bridges, resolvers).
    pub fn clear(&self) {
        self.table().clear();
    }

    /// How many networks exist (all sessions).
    pub fn count(&self) -> usize {
        self.table().len()
    }
}

fn set_up(network: &Network, container_id: &str, up: bool) {
    for e in network
        .endpoints
        .lock()
        .iter_mut()
        .filter(|e| e.container_id == container_id)
    {
        e.up = up;
    }
}

fn check_aliases(aliases: &[String]) -> Result<(), NetworkError> {
    if aliases.len() > MAX_ALIASES {
        return Err(NetworkError::Invalid(format!(
            "too many network aliases: at most {MAX_ALIASES} here"
        )));
    }
    match aliases.iter().find(|a| !valid_name(a)) {
        Some(bad) => Err(NetworkError::Invalid(format!(
            "invalid network alias {bad:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 63"
        ))),
        None => Ok(()),
    }
}

/// A container's `/etc/hosts` and `/etc/resolv.conf` on its first user network: its address beside its host
/// name, and the network's resolver (then slirp4netns's forwarder when outbound DNS is on). Written in place:
/// the files are bind-mounted into a running container.
fn write_etc(
    etc: &Path,
    hostname: &str,
    e: &Endpoint,
    gateway: Ipv4Addr,
    outbound: bool,
) -> std::io::Result<()> {
    std::fs::write(
        etc.join("hosts"),
        format!(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{hostname}\n",
            e.ip
        ),
    )?;
    let mut resolv = format!("# Slipway: the network's embedded DNS\nnameserver {gateway}\n");
    if outbound {
        resolv.push_str(&format!("nameserver {}\n", super::outbound::SLIRP_DNS));
    }
    resolv.push_str("options ndots:0\n");
    std::fs::write(etc.join("resolv.conf"), resolv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_overlap_and_pools_follow_dockers_order() {
        let a = Subnet::parse("10.1.0.0/24").unwrap();
        assert!(a.contains(Ipv4Addr::new(10, 1, 0, 7)) && !a.contains(Ipv4Addr::new(10, 1, 1, 1)));
        assert!(a.overlaps(Subnet::parse("10.0.0.0/8").unwrap()));
        assert!(!a.overlaps(Subnet::parse("10.1.1.0/24").unwrap()));
        assert!(Subnet::parse("10.1.0.1/24").is_err(), "not the first address");
        assert!(Subnet::parse("10.1.0.0/30").is_err() && Subnet::parse("nope").is_err());
        let pools: Vec<String> = default_pools().map(|p| p.to_string()).collect();
        assert_eq!(pools[0], "172.18.0.0/16");
        assert_eq!(pools[14], "192.168.0.0/20");
        assert_eq!(a.host(1), Ipv4Addr::new(10, 1, 0, 1));
        assert_eq!(a.hosts(), 254);
    }

    #[test]
    fn hostile_names_and_aliases_are_refused() {
        for bad in ["", "-x", "a b", "a/b", "a\nb", &"x".repeat(64), "ä"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("app_net-1.v2"));
        assert!(check_aliases(&["db".into(), "bad name".into()]).is_err());
        assert!(check_aliases(&vec!["a".to_string(); MAX_ALIASES + 1]).is_err());
    }
}
