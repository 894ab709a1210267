//! The optional zeroconf announcement (`[server] wyoming_zeroconf = "NAME"`): the Wyoming server
//! as a `_wyoming._tcp.local.` service over multicast DNS, which Home Assistant discovers as
//! wyoming-piper's `--zeroconf` does. Announced while the server runs, withdrawn when it stops.

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
use std::net::SocketAddr;

/// The service type Home Assistant browses for.
pub const SERVICE_TYPE: &str = "_wyoming._tcp.local.";

/// A running announcement; dropping it withdraws it.
pub struct Announcement {
    daemon: ServiceDaemon,
    fullname: String,
}

/// `name` as a host label: letters, digits and dashes.
fn host_label(name: &str) -> String {
    let label: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let label = label.trim_matches('-');
    if label.is_empty() { "chorus".into() } else { label.to_string() }
}

/// Announce instance `name` of the Wyoming server listening on `addr`: at that address, or at
/// every address of the machine when it listens on all of them (`0.0.0.0`); on loopback too when
/// it listens there.
pub fn announce(name: &str, addr: SocketAddr) -> Result<Announcement, String> {
    let fail = |e: mdns_sd::Error| format!("zeroconf announcement of '{name}' failed: {e}");
    let daemon = ServiceDaemon::new().map_err(fail)?;
    let host = format!("{}.local.", host_label(name));
    let info = if addr.ip().is_unspecified() {
        ServiceInfo::new(SERVICE_TYPE, name, &host, (), addr.port(), None).map_err(fail)?.enable_addr_auto()
    } else {
        ServiceInfo::new(SERVICE_TYPE, name, &host, addr.ip(), addr.port(), None).map_err(fail)?
    };
    if addr.ip().is_loopback() {
        daemon.enable_interface(if addr.is_ipv4() { IfKind::LoopbackV4 } else { IfKind::LoopbackV6 }).map_err(fail)?;
    }
    let fullname = info.get_fullname().to_string();
    daemon.register(info).map_err(fail)?;
    Ok(Announcement { daemon, fullname })
}

/// How long withdrawing waits for the daemon to send its goodbye and stop.
const GOODBYE: std::time::Duration = std::time::Duration::from_secs(2);

impl Drop for Announcement {
    /// Withdraw: the goodbye goes out before the process may exit.
    fn drop(&mut self) {
        if let Ok(status) = self.daemon.unregister(&self.fullname) {
            let _ = status.recv_timeout(GOODBYE);
        }
        if let Ok(status) = self.daemon.shutdown() {
            let _ = status.recv_timeout(GOODBYE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_host_labels() {
        assert_eq!(host_label("Chorus TTS"), "chorus-tts");
        assert_eq!(host_label("kitchen_1"), "kitchen-1");
        assert_eq!(host_label("…"), "chorus");
    }
}
