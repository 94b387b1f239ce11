/*
 * netdev.c - the net core: network devices, packet buffers, NAPI, and
 * the host's side of each device (nk/netdevice.h).
 *
 * A registered device is joined to a TAP device of the host with its
 * name (a *port*), which the net core keeps for nkernel's life: a driver
 * that unregisters and registers the device again (a restart) finds the
 * host's side as it left it, addresses and routes included; only the
 * carrier follows the driver.
 *
 * One kernel thread, nk-net, does what Linux's softirqs do: it polls the
 * scheduled NAPI contexts (ops->poll, budget napi->weight) and, between
 * polls, reads frames the host sent to the ports of open devices whose
 * queue is awake into new buffers and hands them to ndo_start_xmit.  It
 * sleeps in poll(2) on those ports and an eventfd that napi_schedule
 * and netif_wake_queue kick.  netif_receive_skb writes the frame to the
 * device's port and frees the buffer.  Driver code is never called with
 * a lock of the net core held but rtnl (the configuration lock: register,
 * unregister, ndo_change_mtu, ndo_set_mac_address, ndo_get_stats);
 * unregister_netdev and napi_disable wait for a call nk-net is making.
 *
 * Buffers (struct sk_buff) are one arena block each with no pointer in
 * them (an isolated driver reads them through the read-only view).  A
 * freed buffer is poisoned and waits in a quarantine of the last
 * SKB_QUARANTINE freed ones before its memory is reused: a native
 * driver's write after free is found when it leaves (a BUG line, then
 * abort, as a double free is), instead of corrupting a later packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "nk_kernel.h"
#include "nk/netdevice.h"
#include "nooks_runtime.h"

#ifndef TUNSETCARRIER
#define TUNSETCARRIER _IOW('T', 226, int)
#endif

#define SKB_LIVE	0x736b6221u	/* "skb!" */
#define SKB_FREED	0xdead5b5bu
#define SKB_POISON	0x6b
#define SKB_POISON_HEAD	192		/* bytes of head[] poisoned when freed */
#define SKB_QUARANTINE	64
#define NET_BOUND_MS	2000		/* a poll or a transmit call, at most */
#define NET_BATCH	64		/* frames read from a port in a row */
#define MAX_PORTS	32

atomic_long nk_nr_skbs;
atomic_long nk_nr_netdevs;

/* The host's side of a device, for nkernel's life. */
struct port {
	char name[IFNAMSIZ];
	int fd;
	struct ndev *nd;	/* the registered device, or NULL */
	unsigned mtu;		/* what the host's side was given last */
	unsigned char addr[ETH_ALEN];
};

/* A device's kernel half (dev->kpriv). */
struct ndev {
	struct net_device *dev;
	struct port *port;
	bool registered, open, carrier, stopped, unregistering;
	int xmitting;		/* nk-net is in ndo_start_xmit */
	unsigned long rx_packets, rx_bytes, rx_dropped;	/* to the host */
	unsigned long tx_packets, tx_bytes;		/* to the driver */
	unsigned long sent_packets, sent_bytes;		/* dev_sw_netstats_tx_add */
};

/* A NAPI context's kernel half (napi->kpriv). */
struct napi {
	struct napi_struct *n;
	struct napi *next;	/* in the poll list */
	bool enabled, sched, listed, running;
};

static pthread_mutex_t net_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t net_cond = PTHREAD_COND_INITIALIZER;	/* a call of nk-net ended */
static pthread_mutex_t rtnl = PTHREAD_MUTEX_INITIALIZER;
static struct port ports[MAX_PORTS];
static int nports;
static struct napi *poll_head, *poll_tail;
static atomic_int next_ifindex;
static int net_evfd = -1;
static bool net_asleep;
static bool net_started;
static pthread_t net_thread;

/* ---- buffers ----------------------------------------------------------------- */

static pthread_mutex_t quar_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sk_buff *quar[SKB_QUARANTINE];
static unsigned quar_next;

static size_t poisoned(const struct sk_buff *skb)
{
	return skb->size < SKB_POISON_HEAD ? skb->size : SKB_POISON_HEAD;
}

static struct sk_buff *skb_new(unsigned len)
{
	if (len > NK_MAX_MTU + ETH_HLEN + 64)
		return NULL;
	unsigned size = NET_SKB_PAD + len;
	struct sk_buff *skb = nooks_arena_alloc(sizeof(*skb) + size);
	if (!skb)
		return NULL;
	skb->data_off = NET_SKB_PAD;
	skb->size = size;
	skb->magic = SKB_LIVE;
	atomic_fetch_add(&nk_nr_skbs, 1);
	return skb;
}

/* A freed buffer leaving the quarantine must be as it was poisoned. */
static void skb_check_poison(struct sk_buff *skb)
{
	const unsigned char *p = skb->head;
	bool ok = skb->magic == SKB_FREED && skb->len == 0x6b6b6b6bu &&
		  skb->data_off == 0x6b6b6b6bu && skb->dma_addr == 0;
	for (size_t i = 0; ok && i < poisoned(skb); i++)
		ok = p[i] == SKB_POISON;
	if (!ok) {
		nk_printk(LOGLEVEL_EMERG, "BUG: sk_buff %p written after it was freed", (void *)skb);
		abort();
	}
}

static void skb_free(struct sk_buff *skb)
{
	if (!skb)
		return;
	if (skb->magic != SKB_LIVE) {
		nk_printk(LOGLEVEL_EMERG, "BUG: kfree_skb: sk_buff %p freed twice", (void *)skb);
		abort();
	}
	if (skb->dma_addr)
		nk_nic_unmap_skb(skb);
	skb->magic = SKB_FREED;
	skb->len = skb->data_off = 0x6b6b6b6bu;
	memset(skb->head, SKB_POISON, poisoned(skb));
	atomic_fetch_sub(&nk_nr_skbs, 1);
	pthread_mutex_lock(&quar_lock);
	struct sk_buff *old = quar[quar_next];
	quar[quar_next] = skb;
	quar_next = (quar_next + 1) % SKB_QUARANTINE;
	pthread_mutex_unlock(&quar_lock);
	if (old) {
		skb_check_poison(old);
		nooks_arena_free(old);
	}
}

struct sk_buff *netdev_alloc_skb(struct net_device *dev, unsigned int len)
{
	struct sk_buff *skb = skb_new(len);
	if (skb && dev)
		skb->ifindex = dev->ifindex;
	return skb;
}

void kfree_skb(struct sk_buff *skb)
{
	skb_free(skb);
}

void dev_consume_skb_any(struct sk_buff *skb)
{
	skb_free(skb);
}

void skb_put(struct sk_buff *skb, unsigned int len)
{
	if (skb && len <= skb->size - skb->data_off - skb->len)
		skb->len += len;
}

/* ---- the host's side ----------------------------------------------------------- */

static int host_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	int r = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return r;
}

static void host_set_mtu(struct port *p, unsigned mtu)
{
	struct ifreq ifr = { .ifr_mtu = (int)mtu };
	p->mtu = mtu;
	host_ioctl(p->name, SIOCSIFMTU, &ifr);
}

static void host_set_addr(struct port *p, const unsigned char *addr)
{
	static const unsigned char zero[ETH_ALEN];
	struct ifreq ifr = { 0 };
	memcpy(p->addr, addr, ETH_ALEN);
	if (!memcmp(addr, zero, ETH_ALEN))
		return;
	ifr.ifr_hwaddr.sa_family = 1;	/* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, addr, ETH_ALEN);
	host_ioctl(p->name, SIOCSIFHWADDR, &ifr);
}

/* The host's side follows its device's MTU and address: set when the
 * device registers and when the net core configures it, and caught up
 * here by nk-net (at most SYNC_MS later) after a change the net core did
 * not make: a replayed ndo_change_mtu or ndo_set_mac_address. */
#define SYNC_MS 50
static void sync_ports(void)
{
	for (int i = 0;; i++) {
		unsigned mtu = 0;
		unsigned char addr[ETH_ALEN];
		pthread_mutex_lock(&net_lock);
		if (i >= nports) {
			pthread_mutex_unlock(&net_lock);
			return;
		}
		struct port *p = &ports[i];
		struct ndev *nd = p->nd;
		bool stale = nd && nd->registered && !nd->unregistering &&
			     (nd->dev->mtu != p->mtu || memcmp(nd->dev->dev_addr, p->addr, ETH_ALEN));
		if (stale) {
			mtu = nd->dev->mtu;
			memcpy(addr, nd->dev->dev_addr, ETH_ALEN);
		}
		pthread_mutex_unlock(&net_lock);
		if (stale && mtu != p->mtu)
			host_set_mtu(p, mtu);
		if (stale && memcmp(addr, p->addr, ETH_ALEN))
			host_set_addr(p, addr);
	}
}

static void host_carrier(struct port *p, int on)
{
	if (p)
		ioctl(p->fd, TUNSETCARRIER, &on);
}

/* The port named name, made (and brought up) if there is none; under
 * rtnl.  NULL and *err on failure. */
static struct port *port_get(const char *name, int *err)
{
	for (int i = 0; i < nports; i++)
		if (!strcmp(ports[i].name, name))
			return &ports[i];
	if (nports == MAX_PORTS) {
		*err = -ENOSPC;
		return NULL;
	}
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		*err = -EBUSY;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct port *p = &ports[nports];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->fd = fd;
	host_carrier(p, 0);
	memset(&ifr, 0, sizeof(ifr));
	if (!host_ioctl(name, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		host_ioctl(name, SIOCSIFFLAGS, &ifr);
	}
	pthread_mutex_lock(&net_lock);
	nports++;	/* nk-net reads the table up to nports */
	pthread_mutex_unlock(&net_lock);
	return p;
}

/* ---- nk-net ---------------------------------------------------------------------- */

static void net_kick(void)	/* under net_lock */
{
	uint64_t one = 1;
	if (net_asleep) {
		net_asleep = false;
		if (write(net_evfd, &one, sizeof(one)) < 0)
			return;	/* full: readable anyway */
	}
}

static bool on_net_thread(void)
{
	return net_started && pthread_equal(pthread_self(), net_thread);
}

static void poll_list_add(struct napi *np)	/* under net_lock */
{
	np->next = NULL;
	np->listed = true;
	if (poll_tail)
		poll_tail->next = np;
	else
		poll_head = np;
	poll_tail = np;
	net_kick();
}

/* Runs the scheduled polls, each at most once; under net_lock. */
static void run_polls(void)
{
	struct napi *tail = poll_tail;
	while (poll_head) {
		struct napi *np = poll_head;
		poll_head = np->next;
		if (!poll_head)
			poll_tail = NULL;
		np->listed = false;
		np->running = true;
		pthread_mutex_unlock(&net_lock);

		struct napi_struct *n = np->n;
		const struct napi_ops *ops = n->ops;	/* a wrapper table if isolated */
		int weight = n->weight, work = 0;
		nooks_bound_push(NET_BOUND_MS, "a NAPI poll");
		if (ops && ops->poll)
			work = ops->poll(n, weight);
		nooks_bound_pop();

		pthread_mutex_lock(&net_lock);
		np->running = false;
		if (np->enabled && work >= weight) {
			np->sched = true;	/* more to do: poll again */
			if (!np->listed)
				poll_list_add(np);
		} else if (!np->listed) {
			np->sched = false;	/* done, completed or not */
		}
		pthread_cond_broadcast(&net_cond);
		if (np == tail)
			break;
	}
}

/* Frames the host sent on port p, to its device's driver. */
static void port_xmit(struct port *p)
{
	for (int i = 0; i < NET_BATCH; i++) {
		pthread_mutex_lock(&net_lock);
		struct ndev *nd = p->nd;
		if (!nd || !nd->open || nd->stopped || nd->unregistering) {
			pthread_mutex_unlock(&net_lock);
			return;
		}
		nd->xmitting++;
		pthread_mutex_unlock(&net_lock);

		struct net_device *dev = nd->dev;
		unsigned room = dev->mtu + ETH_HLEN + 4;
		struct sk_buff *skb = netdev_alloc_skb(dev, room);
		ssize_t len = skb ? read(p->fd, skb_data(skb), room) : -1;
		bool sent = len >= ETH_HLEN && (size_t)len < room;
		if (sent) {
			skb->len = (unsigned)len;
			const struct net_device_ops *ops = dev->netdev_ops;
			nooks_bound_push(NET_BOUND_MS, "ndo_start_xmit");
			ops->ndo_start_xmit(skb, dev);	/* the driver's from here on */
			nooks_bound_pop();
		} else {
			skb_free(skb);
		}

		pthread_mutex_lock(&net_lock);
		if (sent) {
			nd->tx_packets++;
			nd->tx_bytes += (unsigned long)len;
		}
		nd->xmitting--;
		pthread_cond_broadcast(&net_cond);
		pthread_mutex_unlock(&net_lock);
		if (len < 0)
			return;		/* nothing more to read */
	}
}

static void *net_main(void *arg)
{
	struct pollfd pfd[MAX_PORTS + 1];
	struct port *pp[MAX_PORTS + 1];
	uint64_t synced = 0;
	(void)arg;
	pthread_setname_np(pthread_self(), "nk-net");
	for (;;) {
		pthread_mutex_lock(&net_lock);
		run_polls();
		int n = 0;
		pfd[n++] = (struct pollfd){ net_evfd, POLLIN, 0 };
		for (int i = 0; i < nports; i++) {
			struct ndev *nd = ports[i].nd;
			if (nd && nd->open && !nd->stopped && !nd->unregistering) {
				pp[n] = &ports[i];
				pfd[n++] = (struct pollfd){ ports[i].fd, POLLIN, 0 };
			}
		}
		bool more = poll_head != NULL;
		net_asleep = !more;
		pthread_mutex_unlock(&net_lock);

		int ready = poll(pfd, (nfds_t)n, more ? 0 : SYNC_MS);
		if (nk_now_ms() >= synced + SYNC_MS) {
			sync_ports();
			synced = nk_now_ms();
		}
		if (ready <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			if (read(net_evfd, &v, sizeof(v)) < 0)
				v = 0;
		}
		for (int i = 1; i < n; i++)
			if (pfd[i].revents & POLLIN)
				port_xmit(pp[i]);
		pthread_mutex_lock(&net_lock);
		net_asleep = false;
		pthread_mutex_unlock(&net_lock);
	}
	return NULL;
}

/* Under rtnl. */
static int net_start(void)
{
	if (net_started)
		return 0;
	net_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (net_evfd < 0)
		return -errno;
	pthread_mutex_lock(&net_lock);
	if (pthread_create(&net_thread, NULL, net_main, NULL)) {
		pthread_mutex_unlock(&net_lock);
		close(net_evfd);
		net_evfd = -1;
		return -EAGAIN;
	}
	pthread_detach(net_thread);
	net_started = true;
	pthread_mutex_unlock(&net_lock);
	return 0;
}

/* ---- devices ------------------------------------------------------------------------ */

struct net_device *alloc_netdev(const char *name)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return NULL;
	struct net_device *dev = nooks_arena_alloc(sizeof(*dev));
	struct ndev *nd = calloc(1, sizeof(*nd));
	if (!dev || !nd) {
		free(nd);
		if (dev)
			nooks_arena_free(dev);
		return NULL;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->ifindex = atomic_fetch_add(&next_ifindex, 1) + 1;
	dev->mtu = ETH_DATA_LEN;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_DATA_LEN;
	dev->kpriv = nd;
	nd->dev = dev;
	atomic_fetch_add(&nk_nr_netdevs, 1);
	return dev;
}

void free_netdev(struct net_device *dev)
{
	if (!dev)
		return;
	unregister_netdev(dev);
	free(dev->kpriv);
	nooks_arena_free(dev);
	atomic_fetch_sub(&nk_nr_netdevs, 1);
}

static struct ndev *find_dev(const char *name)	/* under net_lock */
{
	for (int i = 0; i < nports; i++)
		if (ports[i].nd && !strcmp(ports[i].name, name))
			return ports[i].nd;
	return NULL;
}

static struct ndev *find_ifindex(int ifindex)	/* under net_lock */
{
	for (int i = 0; i < nports; i++)
		if (ports[i].nd && ports[i].nd->dev->ifindex == ifindex)
			return ports[i].nd;
	return NULL;
}

/* "eth%d": the first number no registered device has; under rtnl. */
static int expand_name(const char *tmpl, char *out)
{
	const char *pct = strstr(tmpl, "%d");
	if (!pct) {
		if (strchr(tmpl, '%') || strchr(tmpl, '/') || strchr(tmpl, ' '))
			return -EINVAL;
		snprintf(out, IFNAMSIZ, "%s", tmpl);
		return 0;
	}
	if (strchr(pct + 2, '%'))
		return -EINVAL;
	for (int n = 0; n < 100; n++) {
		char name[IFNAMSIZ + 8];
		snprintf(name, sizeof(name), "%.*s%d%s", (int)(pct - tmpl), tmpl, n, pct + 2);
		if (strlen(name) >= IFNAMSIZ)
			return -EINVAL;
		pthread_mutex_lock(&net_lock);
		bool taken = find_dev(name) != NULL;
		pthread_mutex_unlock(&net_lock);
		if (!taken) {
			snprintf(out, IFNAMSIZ, "%s", name);
			return 0;
		}
	}
	return -ENFILE;
}

static void do_unregister(struct ndev *nd);

int register_netdev(struct net_device *dev)
{
	if (!dev || !dev->netdev_ops || !dev->netdev_ops->ndo_start_xmit)
		return -EINVAL;
	if (dev->min_mtu < ETH_MIN_MTU || dev->max_mtu > NK_MAX_MTU ||
	    dev->mtu < dev->min_mtu || dev->mtu > dev->max_mtu)
		return -EINVAL;
	struct ndev *nd = dev->kpriv;
	char name[IFNAMSIZ];
	int r;

	pthread_mutex_lock(&rtnl);
	if (nd->registered) {
		pthread_mutex_unlock(&rtnl);
		return -EEXIST;
	}
	if ((r = expand_name(dev->name, name)) || (r = net_start())) {
		pthread_mutex_unlock(&rtnl);
		return r;
	}
	struct port *p = port_get(name, &r);
	if (p && p->nd) {
		p = NULL;
		r = -EEXIST;
	}
	if (!p) {
		pthread_mutex_unlock(&rtnl);
		return r;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	host_set_mtu(p, dev->mtu);
	host_set_addr(p, dev->dev_addr);
	pthread_mutex_lock(&net_lock);
	nd->port = p;
	nd->registered = true;
	nd->carrier = false;
	nd->stopped = false;
	p->nd = nd;
	pthread_mutex_unlock(&net_lock);

	/* nk's devices come up when registered */
	dev->flags |= IFF_UP;
	nooks_bound_push(NET_BOUND_MS, "ndo_open");
	r = dev->netdev_ops->ndo_open ? dev->netdev_ops->ndo_open(dev) : 0;
	nooks_bound_pop();
	if (r) {
		dev->flags &= ~IFF_UP;
		do_unregister(nd);
	} else {
		pthread_mutex_lock(&net_lock);
		nd->open = true;
		net_kick();
		pthread_mutex_unlock(&net_lock);
	}
	pthread_mutex_unlock(&rtnl);
	return r;
}

/* Under rtnl: stop and unlist nd. */
static void do_unregister(struct ndev *nd)
{
	struct net_device *dev = nd->dev;
	pthread_mutex_lock(&net_lock);
	nd->unregistering = true;
	while (nd->xmitting && !on_net_thread())
		pthread_cond_wait(&net_cond, &net_lock);
	bool was_open = nd->open;
	nd->open = false;
	pthread_mutex_unlock(&net_lock);
	if (was_open && dev->netdev_ops->ndo_stop) {
		nooks_bound_push(NET_BOUND_MS, "ndo_stop");
		dev->netdev_ops->ndo_stop(dev);
		nooks_bound_pop();
	}
	dev->flags &= ~IFF_UP;
	pthread_mutex_lock(&net_lock);
	struct port *p = nd->port;
	nd->registered = false;
	nd->unregistering = false;
	nd->port = NULL;
	if (p)
		p->nd = NULL;
	pthread_mutex_unlock(&net_lock);
	host_carrier(p, 0);
}

void unregister_netdev(struct net_device *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&rtnl);
	if (((struct ndev *)dev->kpriv)->registered)
		do_unregister(dev->kpriv);
	pthread_mutex_unlock(&rtnl);
}

void netif_receive_skb(struct sk_buff *skb)
{
	if (!skb)
		return;
	pthread_mutex_lock(&net_lock);
	struct ndev *nd = find_ifindex(skb->ifindex);
	int fd = nd && nd->port ? nd->port->fd : -1;
	pthread_mutex_unlock(&net_lock);
	bool ok = fd >= 0 && write(fd, skb_data(skb), skb->len) == (ssize_t)skb->len;
	if (nd) {
		pthread_mutex_lock(&net_lock);
		if (ok) {
			nd->rx_packets++;
			nd->rx_bytes += skb->len;
		} else {
			nd->rx_dropped++;
		}
		pthread_mutex_unlock(&net_lock);
	}
	skb_free(skb);
}

static void set_carrier(struct net_device *dev, bool on)
{
	struct ndev *nd = dev->kpriv;
	pthread_mutex_lock(&net_lock);
	nd->carrier = on;
	struct port *p = nd->port;
	pthread_mutex_unlock(&net_lock);
	host_carrier(p, on);
}

void netif_carrier_on(struct net_device *dev)
{
	set_carrier(dev, true);
}

void netif_carrier_off(struct net_device *dev)
{
	set_carrier(dev, false);
}

bool netif_carrier_ok(const struct net_device *dev)
{
	return ((const struct ndev *)dev->kpriv)->carrier;
}

void netif_stop_queue(struct net_device *dev)
{
	pthread_mutex_lock(&net_lock);
	((struct ndev *)dev->kpriv)->stopped = true;
	pthread_mutex_unlock(&net_lock);
}

void netif_wake_queue(struct net_device *dev)
{
	pthread_mutex_lock(&net_lock);
	struct ndev *nd = dev->kpriv;
	if (nd->stopped) {
		nd->stopped = false;
		net_kick();
	}
	pthread_mutex_unlock(&net_lock);
}

bool netif_queue_stopped(const struct net_device *dev)
{
	return ((const struct ndev *)dev->kpriv)->stopped;
}

void dev_sw_netstats_tx_add(struct net_device *dev, unsigned int packets, unsigned int len)
{
	struct ndev *nd = dev->kpriv;
	pthread_mutex_lock(&net_lock);
	nd->sent_packets += packets;
	nd->sent_bytes += len;
	pthread_mutex_unlock(&net_lock);
}

/* ---- NAPI ------------------------------------------------------------------------------ */

struct napi_struct *netif_napi_add(struct net_device *dev, int weight)
{
	if (!dev || weight < 1 || weight > 256)
		return NULL;
	struct napi_struct *n = nooks_arena_alloc(sizeof(*n));
	struct napi *np = calloc(1, sizeof(*np));
	if (!n || !np) {
		free(np);
		if (n)
			nooks_arena_free(n);
		return NULL;
	}
	n->weight = weight;
	n->kpriv = np;
	np->n = n;
	return n;
}

void netif_napi_del(struct napi_struct *napi)
{
	if (!napi)
		return;
	napi_disable(napi);
	free(napi->kpriv);
	nooks_arena_free(napi);
}

void napi_enable(struct napi_struct *napi)
{
	pthread_mutex_lock(&net_lock);
	((struct napi *)napi->kpriv)->enabled = true;
	pthread_mutex_unlock(&net_lock);
}

void napi_disable(struct napi_struct *napi)
{
	struct napi *np = napi->kpriv;
	pthread_mutex_lock(&net_lock);
	np->enabled = false;
	if (np->listed) {
		struct napi **pp = &poll_head, *prev = NULL;
		while (*pp != np) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = np->next;
		if (poll_tail == np)
			poll_tail = prev;
		np->listed = false;
	}
	np->sched = false;
	while (np->running && !on_net_thread())
		pthread_cond_wait(&net_cond, &net_lock);
	pthread_mutex_unlock(&net_lock);
}

void napi_schedule(struct napi_struct *napi)
{
	struct napi *np = napi->kpriv;
	pthread_mutex_lock(&net_lock);
	if (np->enabled && !np->sched) {
		np->sched = true;
		poll_list_add(np);
	}
	pthread_mutex_unlock(&net_lock);
}

void napi_complete_done(struct napi_struct *napi, int work_done)
{
	struct napi *np = napi->kpriv;
	(void)work_done;
	pthread_mutex_lock(&net_lock);
	if (!np->listed)
		np->sched = false;
	pthread_mutex_unlock(&net_lock);
}

/* ---- nkctl net ---------------------------------------------------------------------------- */

static int parse_mac(const char *s, unsigned char *mac)
{
	unsigned v[ETH_ALEN];
	char end;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < ETH_ALEN; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (unsigned char)v[i];
	}
	return 0;
}

static void show_dev(FILE *out, struct ndev *nd)
{
	struct net_device *dev = nd->dev;
	const unsigned char *a = dev->dev_addr;
	if (dev->netdev_ops->ndo_get_stats) {
		nooks_bound_push(NET_BOUND_MS, "ndo_get_stats");
		dev->netdev_ops->ndo_get_stats(dev);
		nooks_bound_pop();
	}
	pthread_mutex_lock(&net_lock);
	fprintf(out, "dev %s %s carrier %s queue %s mtu %u mac %02x:%02x:%02x:%02x:%02x:%02x "
		"to_driver %lu %lu to_host %lu %lu host_dropped %lu sent %lu %lu",
		dev->name, nd->open ? "open" : "closed", nd->carrier ? "on" : "off",
		nd->stopped ? "stopped" : "awake", dev->mtu, a[0], a[1], a[2], a[3], a[4], a[5],
		nd->tx_packets, nd->tx_bytes, nd->rx_packets, nd->rx_bytes, nd->rx_dropped,
		nd->sent_packets, nd->sent_bytes);
	pthread_mutex_unlock(&net_lock);
	const struct net_device_stats *s = &dev->stats;
	fprintf(out, " driver rx %lu %lu tx %lu %lu errors %lu %lu dropped %lu %lu\n",
		s->rx_packets, s->rx_bytes, s->tx_packets, s->tx_bytes, s->rx_errors,
		s->tx_errors, s->rx_dropped, s->tx_dropped);
}

int nk_net_command(int argc, char **argv, FILE *out, char *err, size_t errlen)
{
	int r = 0;
	pthread_mutex_lock(&rtnl);
	if (argc == 1) {
		for (int i = 0; i < nports; i++)
			if (ports[i].nd)
				show_dev(out, ports[i].nd);
		nk_nic_show(out);
		pthread_mutex_unlock(&rtnl);
		return 0;
	}
	pthread_mutex_lock(&net_lock);
	struct ndev *nd = argc == 4 ? find_dev(argv[2]) : NULL;
	pthread_mutex_unlock(&net_lock);
	unsigned char mac[ETH_ALEN];
	if (argc != 4 || (strcmp(argv[1], "mtu") && strcmp(argv[1], "mac"))) {
		snprintf(err, errlen, "usage: net [mtu DEV N | mac DEV XX:XX:XX:XX:XX:XX]");
		r = -1;
	} else if (!nd) {
		snprintf(err, errlen, "no device '%.32s'", argv[2]);
		r = -1;
	} else if (!strcmp(argv[1], "mtu")) {
		char *end;
		long mtu = strtol(argv[3], &end, 10);
		struct net_device *dev = nd->dev;
		if (*end || end == argv[3] || mtu < dev->min_mtu || mtu > dev->max_mtu) {
			snprintf(err, errlen, "mtu %.20s: not in [%u, %u]", argv[3], dev->min_mtu,
				 dev->max_mtu);
			r = -1;
		} else if ((r = dev->netdev_ops->ndo_change_mtu ?
				dev->netdev_ops->ndo_change_mtu(dev, (int)mtu) : -EOPNOTSUPP)) {
			snprintf(err, errlen, "ndo_change_mtu: %s (%d)", strerror(-r), r);
			r = -1;
		} else {
			host_set_mtu(nd->port, dev->mtu);
			fprintf(out, "%s mtu %u\n", dev->name, dev->mtu);
		}
	} else if (parse_mac(argv[3], mac)) {
		snprintf(err, errlen, "bad address '%.40s'", argv[3]);
		r = -1;
	} else {
		struct net_device *dev = nd->dev;
		if ((r = dev->netdev_ops->ndo_set_mac_address ?
			 dev->netdev_ops->ndo_set_mac_address(dev, mac) : -EOPNOTSUPP)) {
			snprintf(err, errlen, "ndo_set_mac_address: %s (%d)", strerror(-r), r);
			r = -1;
		} else {
			host_set_addr(nd->port, dev->dev_addr);
			fprintf(out, "%s mac %.40s\n", dev->name, argv[3]);
		}
	}
	pthread_mutex_unlock(&rtnl);
	return r;
}
