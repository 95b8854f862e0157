//! IPv4 and IPv6 addresses and CIDR blocks for endpoint allow and block lists.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// An address block: a network address with no host bits set, and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

pub const IP_RULE: &str = "IPv4 or IPv6 addresses or CIDR blocks (e.g. 203.0.113.0/24, 2001:db8::/32) with no host bits set";

impl IpNet {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `ipv6/n`. Host bits must be zero.
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0-{max}"))?,
        };
        // An IPv4-mapped IPv6 block (`::ffff:a.b.c.d/n`, n >= 96) is the IPv4 block it maps:
        // client addresses are matched in that form.
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let net = IpNet { addr, prefix };
        if net.masked() != addr {
            return Err(format!(
                "`{s}` has host bits set; the block is {}",
                IpNet {
                    addr: net.masked(),
                    prefix
                }
            ));
        }
        Ok(net)
    }

    /// Whether the block covers every address of its family (`0.0.0.0/0`, `::/0`).
    pub fn is_everything(&self) -> bool {
        self.prefix == 0
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    fn masked(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask32(self.prefix)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask128(self.prefix)).into()),
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
        let s = String::deserialize(d)?;
        IpNet::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn matches_v4_and_v6_blocks() {
        let n = IpNet::parse("203.0.113.0/24").unwrap();
        assert!(n.contains(ip("203.0.113.7")));
        assert!(!n.contains(ip("203.0.114.7")));
        assert!(n.contains(ip("::ffff:203.0.113.9")), "IPv4-mapped IPv6");
        let n = IpNet::parse("2001:db8:abcd::/48").unwrap();
        assert!(n.contains(ip("2001:db8:abcd:12::1")));
        assert!(!n.contains(ip("2001:db8:abce::1")));
        assert!(!n.contains(ip("203.0.113.7")));
        let one = IpNet::parse("::1").unwrap();
        assert!(one.contains(ip("::1")));
        assert_eq!(one.to_string(), "::1");
        assert!(IpNet::parse("0.0.0.0/0").unwrap().is_everything());
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        let mapped = IpNet::parse("::ffff:127.0.0.0/104").unwrap();
        assert_eq!(mapped.to_string(), "127.0.0.0/8");
        assert!(mapped.contains(ip("127.0.0.1")));
        assert!(mapped.contains(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn refuses_bad_entries() {
        for bad in [
            "",
            "10.0.0.1/24",
            "10.0.0.0/33",
            "10.0.0/8",
            "fe80::1/129",
            "x",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "2001:db8::1/32",
        ] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
        let e = IpNet::parse("10.0.0.1/24").unwrap_err();
        assert!(e.contains("10.0.0.0/24"), "{e}");
    }
}
