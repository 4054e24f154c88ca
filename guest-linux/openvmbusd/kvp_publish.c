// SPDX-License-Identifier: GPL-2.0
/*
 * kvp_publish.c - gathers the guest pool of KVP (see kvp_publish.h):
 * plain reads of os-release, uname(2), CLOCK_BOOTTIME and an RTM_GETADDR
 * dump over rtnetlink. No shell, no external programs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/kvp_publish.h"
#include "guest-linux/openvmbusd/log.h"
#include "vmbus/version.h"

struct kvp_item *kvp_items_find(struct kvp_items *p, const void *key, uint32_t key_len)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		if (p->item[i].key_len == key_len && memcmp(p->item[i].key, key, key_len) == 0)
			return &p->item[i];
	return NULL;
}

int kvp_items_set(struct kvp_items *p, const void *key, uint32_t key_len, const void *value,
		  uint32_t value_len, struct kvp_item **ret)
{
	struct kvp_item *it;
	int r = vmbus_kvp_check(key, key_len, value, value_len);

	if (r < 0)
		return r;
	it = kvp_items_find(p, key, key_len);
	if (!it) {
		if (p->n >= VMBUS_KVP_POOL_MAX)
			return -ENOSPC;
		it = &p->item[p->n++];
		memcpy(it->key, key, key_len);
		it->key[key_len] = '\0';
		it->key_len = (uint16_t)key_len;
		it->mark = 0;
	}
	memcpy(it->value, value, value_len);
	it->value[value_len] = '\0';
	it->value_len = (uint16_t)value_len;
	if (ret)
		*ret = it;
	return 0;
}

void kvp_items_delete(struct kvp_items *p, struct kvp_item *it)
{
	struct kvp_item *last = &p->item[--p->n];

	if (it != last)
		*it = *last;
}

static void kvp_publish(struct kvp_items *p, const char *key, const char *value)
{
	int r = kvp_items_set(p, key, (uint32_t)strlen(key), value, (uint32_t)strlen(value), NULL);

	if (r < 0)
		log_msg(LOG_WARNING, "kvp: cannot publish %s: %s", key, strerror(-r));
}

/* os-release's VALUE: unquote "..." (with \ escapes) or '...'. */
static void kvp_os_release_unquote(char *v)
{
	size_t len = strlen(v), i, o = 0;
	char q;

	if (len < 2 || (v[0] != '"' && v[0] != '\'') || v[len - 1] != v[0])
		return;
	q = v[0];
	for (i = 1; i < len - 1; i++) {
		if (q == '"' && v[i] == '\\' && i + 1 < len - 1)
			i++;
		v[o++] = v[i];
	}
	v[o] = '\0';
}

static void kvp_publish_os_release(struct kvp_items *p)
{
	static const struct { const char *field, *key; } fields[] = {
		{ "NAME", "OSName" },
		{ "VERSION_ID", "OSVersion" },
		{ "PRETTY_NAME", "OSPrettyName" },
		{ "ID", "OSId" },
		{ "VERSION_CODENAME", "OSCodename" },
	};
	char line[1024];
	unsigned int i;
	FILE *f = fopen("/etc/os-release", "re");

	if (!f)
		f = fopen("/usr/lib/os-release", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (!eq)
			continue;
		*eq = '\0';
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (strcmp(line, fields[i].field) == 0) {
				kvp_os_release_unquote(eq + 1);
				kvp_publish(p, fields[i].key, eq + 1);
			}
		}
	}
	fclose(f);
}

/* Append " ADDR/PREFIX" to the interface's IPAddresses.IFNAME value if it fits. */
static void kvp_publish_address(struct kvp_items *p, const char *ifname, const char *addr,
				unsigned int prefix)
{
	char key[VMBUS_KVP_KEY_MAX + 1], value[VMBUS_KVP_VALUE_MAX + 1];
	struct kvp_item *it;
	int n;

	snprintf(key, sizeof(key), "IPAddresses.%s", ifname);
	it = kvp_items_find(p, key, (uint32_t)strlen(key));
	n = snprintf(value, sizeof(value), "%s%s%s/%u", it ? it->value : "", it ? " " : "", addr, prefix);
	if (n < 0 || (size_t)n >= sizeof(value))
		return;		/* a value holds at most 2048 bytes: the addresses that fit */
	kvp_publish(p, key, value);
}

/* Addresses of every interface, except host-scope ones (loopback), over rtnetlink. */
static int kvp_publish_addresses(struct kvp_items *p)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.ifa = { .ifa_family = AF_UNSPEC },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { 2, 0 };
	uint32_t buf[8192];
	int fd, r = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0) {
			r = -EIO;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			struct ifaddrmsg *ifa = NLMSG_DATA(nh);
			struct rtattr *rta;
			const void *addr = NULL, *local = NULL;
			char text[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
			int alen;
			unsigned int need;

			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				r = -EIO;
				goto out;
			}
			if (nh->nlmsg_type != RTM_NEWADDR || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
				continue;
			if (ifa->ifa_scope == RT_SCOPE_HOST)
				continue;
			need = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
			if (!need)
				continue;
			alen = (int)IFA_PAYLOAD(nh);
			for (rta = IFA_RTA(ifa); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
				if (RTA_PAYLOAD(rta) < need)
					continue;
				if (rta->rta_type == IFA_ADDRESS)
					addr = RTA_DATA(rta);
				else if (rta->rta_type == IFA_LOCAL)
					local = RTA_DATA(rta);
			}
			/* IFA_LOCAL is the interface's own address (differs on point-to-point links). */
			if (local)
				addr = local;
			if (!addr || !inet_ntop(ifa->ifa_family, addr, text, sizeof(text)) ||
			    !if_indextoname(ifa->ifa_index, ifname))
				continue;
			kvp_publish_address(p, ifname, text, ifa->ifa_prefixlen);
		}
	}
out:
	close(fd);
	return r;
}

void kvp_publish_collect(struct kvp_items *p)
{
	struct utsname u;
	struct timespec ts;
	char text[64];
	int r;

	p->n = 0;
	kvp_publish_os_release(p);
	if (uname(&u) == 0) {
		kvp_publish(p, "KernelRelease", u.release);
		kvp_publish(p, "KernelVersion", u.version);
		kvp_publish(p, "Architecture", u.machine);
		kvp_publish(p, "HostName", u.nodename);
	}
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0) {
		snprintf(text, sizeof(text), "%lld", (long long)ts.tv_sec);
		kvp_publish(p, "UptimeSeconds", text);
	}
	kvp_publish(p, "OpenvmbusVersion", OPENVMBUS_VERSION);
	r = kvp_publish_addresses(p);
	if (r < 0)
		log_msg(LOG_WARNING, "kvp: cannot list the network addresses: %s", strerror(-r));
}
