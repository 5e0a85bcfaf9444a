package shellcmd

import "strings"

// sbin lists common commands installed under /usr/sbin (Debian and RHEL agree on these);
// every other bare name resolves to /usr/bin.
var sbin = set("iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "iptables-save", "nft", "ufw",
	"useradd", "userdel", "usermod", "adduser", "deluser", "groupadd", "groupdel", "groupmod", "addgroup", "delgroup",
	"chpasswd", "vipw", "vigr", "visudo", "pwck", "grpck", "newusers", "unshadow", "insmod", "rmmod", "modprobe", "lsmod",
	"depmod", "modinfo", "setenforce", "getenforce", "sestatus", "setsebool", "auditctl", "auditd", "ausearch", "aureport",
	"service", "update-rc.d", "chkconfig", "sysctl", "setcap", "getcap", "capsh", "tcpdump", "sshd", "cron", "crond",
	"rsyslogd", "syslog-ng", "logrotate", "mkfs", "mkfs.ext4", "mkfs.xfs", "fdisk", "parted", "wipefs", "mkswap", "swapoff",
	"swapon", "chroot", "ldconfig", "nologin", "reboot", "shutdown", "halt", "poweroff", "ifconfig", "route", "arp",
	"ethtool", "iw", "tc", "dmidecode", "firewalld", "setfacl", "pam_tally2", "faillock", "blkid", "losetup", "kexec")

// ResolveImage turns argv[0] into an executable path the way process telemetry reports
// it: a name with a '/' is kept, a bare name is placed in /usr/sbin or /usr/bin.
func ResolveImage(argv0 string) string {
	if argv0 == "" || strings.ContainsRune(argv0, '/') {
		return argv0
	}
	if sbin[argv0] {
		return "/usr/sbin/" + argv0
	}
	return "/usr/bin/" + argv0
}
