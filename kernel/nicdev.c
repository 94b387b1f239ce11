/*
 * nicdev.c - the emulated network card (nk/nic.h): registers, an IOMMU,
 * descriptor rings, interrupts, and a TAP device as its wire.
 *
 * Each card (struct nic_hw, made by nk_nic_create for `nkernel --nic`)
 * lives as long as nkernel and has one device thread.  The thread takes
 * the card's lock, sends the frames of the transmit descriptors from
 * head to tail (write(2) on the wire), receives frames from the wire
 * into the receive descriptors' buffers (read(2) into a bounce buffer,
 * then the address filter, then a copy), raises interrupt causes, drops
 * the lock, delivers an interrupt if a cause it raised is enabled, and
 * sleeps in poll(2) when there is nothing to do: on an eventfd that
 * register writes kick (a doorbell), and on the wire while the receive
 * ring has room.
 *
 * Registers are a table (nic_regs): each one plain storage in struct
 * nic_hw, read-only, or with a read or write handler (ICR clears on
 * read; TDT and RDT ring the doorbell; IMS may raise a pending cause).
 *
 * The card reaches memory only through its mappings (nic_dma_map*): a
 * bus address is a slot of the map table, a generation and an offset,
 * and every address the card reads from a register or a descriptor is
 * translated and bounded there, under the lock, for the whole transfer.
 * A stale or forged address is a DMA error (NIC_DMAE, the DMAE cause),
 * never a wild write.  Releasing the card resets it and drops every
 * mapping; freeing a packet buffer drops its own (nk_nic_unmap_skb).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
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

#define NIC_MAX		8
#define NIC_MAPS	4096
#define NIC_MAP_MAX	(1u << 24)	/* bytes per mapping (the offset's bits) */
#define NIC_BATCH	64		/* frames per direction per round */
#define NIC_IRQ_BOUND	2000		/* ms an interrupt handler may take */

struct nic_map {
	unsigned char *kaddr;
	size_t len;
	struct sk_buff *skb;	/* a buffer's mapping */
	uint16_t gen;
	bool used;
};

struct nic_hw {
	unsigned index;
	char wire[IFNAMSIZ];
	int fd;			/* the wire */
	int evfd;		/* the doorbell */
	pthread_t thread;
	pthread_mutex_t lock;	/* registers, rings, mappings */
	bool asleep;		/* the thread sleeps: kick the doorbell */
	bool irq_raise;		/* an enabled cause since the last interrupt */
	uint32_t ctrl, status, icr, ims, rctl, tctl, maxframe;
	uint32_t ral, rah, perm_ral, perm_rah;
	uint32_t tdbal, tdbah, tdlen, tdh, tdt;
	uint32_t rdbal, rdbah, rdlen, rdh, rdt;
	uint32_t gprc, gptc, filt, roc, dmae;
	struct nic_map maps[NIC_MAPS];
	/* interrupts: who is claimed, and whether a handler runs */
	pthread_mutex_t irq_lock;
	pthread_cond_t irq_done;
	struct nic_device *claim;
	bool irq_on, in_irq;
	unsigned char bounce[65536];
};

static struct nic_hw *nics[NIC_MAX];
static int nnics;
static pthread_mutex_t nics_lock = PTHREAD_MUTEX_INITIALIZER;

static struct nic_hw *nic_hw_of(unsigned index)
{
	return index < (unsigned)NIC_MAX ? nics[index] : NULL;
}

/* ---- the IOMMU (under lock) ------------------------------------------------ */

static dma_addr_t map_add(struct nic_hw *hw, void *kaddr, size_t len, struct sk_buff *skb)
{
	if (!kaddr || !len || len > NIC_MAP_MAX)
		return NIC_DMA_ERROR;
	for (unsigned i = 0; i < NIC_MAPS; i++) {
		struct nic_map *m = &hw->maps[i];
		if (m->used)
			continue;
		m->used = true;
		m->kaddr = kaddr;
		m->len = len;
		m->skb = skb;
		return ((dma_addr_t)m->gen << 40) | ((dma_addr_t)(i + 1) << 24);
	}
	return NIC_DMA_ERROR;
}

/* The mapping addr lies in, or NULL. */
static struct nic_map *map_find(struct nic_hw *hw, dma_addr_t addr)
{
	uint64_t slot = (addr >> 24) & 0xffff;
	if (!slot || slot > NIC_MAPS || (addr >> 56))
		return NULL;
	struct nic_map *m = &hw->maps[slot - 1];
	if (!m->used || m->gen != (uint16_t)(addr >> 40))
		return NULL;
	return m;
}

/* Where [addr, addr + len) is in the kernel's memory, or NULL. */
static unsigned char *translate(struct nic_hw *hw, dma_addr_t addr, size_t len)
{
	struct nic_map *m = map_find(hw, addr);
	size_t off = addr & (NIC_MAP_MAX - 1);
	if (!m || off > m->len || len > m->len - off)
		return NULL;
	return m->kaddr + off;
}

static void map_drop(struct nic_map *m)
{
	if (m->skb)
		m->skb->dma_addr = 0;
	m->used = false;
	m->skb = NULL;
	m->gen++;
}

/* ---- registers (under lock) ------------------------------------------------ */

static void kick(struct nic_hw *hw)
{
	uint64_t one = 1;
	if (hw->asleep) {
		hw->asleep = false;
		if (write(hw->evfd, &one, sizeof(one)) < 0)
			return;	/* the counter is full: it is readable anyway */
	}
}

static void cause(struct nic_hw *hw, uint32_t bits)
{
	hw->icr |= bits;
	if (bits & hw->ims)
		hw->irq_raise = true;
}

static void reset(struct nic_hw *hw)
{
	hw->ctrl = 0;
	hw->icr = hw->ims = hw->rctl = hw->tctl = 0;
	hw->tdbal = hw->tdbah = hw->tdlen = hw->tdh = hw->tdt = 0;
	hw->rdbal = hw->rdbah = hw->rdlen = hw->rdh = hw->rdt = 0;
	hw->maxframe = ETH_DATA_LEN + ETH_HLEN;
	hw->ral = hw->perm_ral;
	hw->rah = hw->perm_rah;
	hw->irq_raise = false;
}

static uint32_t rd_icr(struct nic_hw *hw)
{
	uint32_t v = hw->icr;
	hw->icr = 0;
	return v;
}

static void wr_ctrl(struct nic_hw *hw, uint32_t v)
{
	if (v & NIC_CTRL_RST)
		reset(hw);
}

static void wr_ims(struct nic_hw *hw, uint32_t v)
{
	hw->ims |= v;
	if (hw->icr & v) {
		hw->irq_raise = true;
		kick(hw);
	}
}

static void wr_imc(struct nic_hw *hw, uint32_t v)
{
	hw->ims &= ~v;
}

/* A ring's length: a power of two from 8 to 4096, else 0 (off). */
static uint32_t ring_len(uint32_t v)
{
	return v >= 8 && v <= 4096 && !(v & (v - 1)) ? v : 0;
}

static void wr_tdlen(struct nic_hw *hw, uint32_t v)
{
	hw->tdlen = ring_len(v);
	hw->tdh = hw->tdt = 0;
}

static void wr_rdlen(struct nic_hw *hw, uint32_t v)
{
	hw->rdlen = ring_len(v);
	hw->rdh = hw->rdt = 0;
}

static void wr_tdt(struct nic_hw *hw, uint32_t v)
{
	hw->tdt = hw->tdlen ? v & (hw->tdlen - 1) : 0;
	kick(hw);
}

static void wr_rdt(struct nic_hw *hw, uint32_t v)
{
	hw->rdt = hw->rdlen ? v & (hw->rdlen - 1) : 0;
	kick(hw);
}

static void wr_ctl(struct nic_hw *hw, uint32_t v)
{
	(void)v;
	kick(hw);
}

static void wr_maxframe(struct nic_hw *hw, uint32_t v)
{
	hw->maxframe = v < 60 ? 60 : v > NK_MAX_MTU + ETH_HLEN ? NK_MAX_MTU + ETH_HLEN : v;
}

enum { REG_RW, REG_RO };

/* The register file: offset, storage, access, handlers (NULL: plain). */
static const struct nic_reg {
	unsigned off;
	size_t field;
	int access;
	uint32_t (*read)(struct nic_hw *hw);
	void (*write)(struct nic_hw *hw, uint32_t v);	/* after the store */
} nic_regs[] = {
#define F(f) offsetof(struct nic_hw, f)
	{ NIC_CTRL, F(ctrl), REG_RW, NULL, wr_ctrl },
	{ NIC_STATUS, F(status), REG_RO, NULL, NULL },
	{ NIC_ICR, F(icr), REG_RO, rd_icr, NULL },
	{ NIC_IMS, F(ims), REG_RO, NULL, wr_ims },
	{ NIC_IMC, F(ims), REG_RO, NULL, wr_imc },
	{ NIC_RCTL, F(rctl), REG_RW, NULL, wr_ctl },
	{ NIC_TCTL, F(tctl), REG_RW, NULL, wr_ctl },
	{ NIC_MAXFRAME, F(maxframe), REG_RO, NULL, wr_maxframe },
	{ NIC_RAL, F(ral), REG_RW, NULL, NULL },
	{ NIC_RAH, F(rah), REG_RW, NULL, NULL },
	{ NIC_PERM_RAL, F(perm_ral), REG_RO, NULL, NULL },
	{ NIC_PERM_RAH, F(perm_rah), REG_RO, NULL, NULL },
	{ NIC_TDBAL, F(tdbal), REG_RW, NULL, NULL },
	{ NIC_TDBAH, F(tdbah), REG_RW, NULL, NULL },
	{ NIC_TDLEN, F(tdlen), REG_RO, NULL, wr_tdlen },
	{ NIC_TDH, F(tdh), REG_RO, NULL, NULL },
	{ NIC_TDT, F(tdt), REG_RO, NULL, wr_tdt },
	{ NIC_RDBAL, F(rdbal), REG_RW, NULL, NULL },
	{ NIC_RDBAH, F(rdbah), REG_RW, NULL, NULL },
	{ NIC_RDLEN, F(rdlen), REG_RO, NULL, wr_rdlen },
	{ NIC_RDH, F(rdh), REG_RO, NULL, NULL },
	{ NIC_RDT, F(rdt), REG_RO, NULL, wr_rdt },
	{ NIC_GPRC, F(gprc), REG_RO, NULL, NULL },
	{ NIC_GPTC, F(gptc), REG_RO, NULL, NULL },
	{ NIC_FILT, F(filt), REG_RO, NULL, NULL },
	{ NIC_ROC, F(roc), REG_RO, NULL, NULL },
	{ NIC_DMAE, F(dmae), REG_RO, NULL, NULL },
#undef F
};

static const struct nic_reg *reg_of(unsigned off)
{
	for (size_t i = 0; i < sizeof(nic_regs) / sizeof(nic_regs[0]); i++)
		if (nic_regs[i].off == off)
			return &nic_regs[i];
	return NULL;
}

static uint32_t *reg_field(struct nic_hw *hw, const struct nic_reg *r)
{
	return (uint32_t *)((char *)hw + r->field);
}

/* ---- the device thread ------------------------------------------------------ */

static struct nic_desc *ring(struct nic_hw *hw, uint32_t lo, uint32_t hi, uint32_t n)
{
	dma_addr_t a = ((dma_addr_t)hi << 32) | lo;
	return (struct nic_desc *)translate(hw, a, (size_t)n * sizeof(struct nic_desc));
}

static int dma_error(struct nic_hw *hw)
{
	hw->dmae++;
	cause(hw, NIC_INT_DMAE);
	return 0;
}

/* Sends what the driver queued; frames sent (or failed). */
static int nic_tx(struct nic_hw *hw)
{
	if (!(hw->tctl & NIC_TCTL_EN) || !hw->tdlen || hw->tdh == hw->tdt)
		return 0;
	struct nic_desc *r = ring(hw, hw->tdbal, hw->tdbah, hw->tdlen);
	if (!r) {
		hw->tctl = 0;	/* a ring it cannot reach: transmit stops */
		return dma_error(hw);
	}
	int n = 0;
	while (hw->tdh != hw->tdt && n < NIC_BATCH) {
		volatile struct nic_desc *d = &r[hw->tdh];
		dma_addr_t addr = d->addr;
		unsigned len = d->len;
		unsigned char *buf = translate(hw, addr, len);
		unsigned char st = NIC_DESC_DD;
		if (!buf) {
			dma_error(hw);
			st |= NIC_DESC_ERR;
		} else if (len < ETH_HLEN || len > hw->maxframe ||
			   write(hw->fd, buf, len) != (ssize_t)len) {
			st |= NIC_DESC_ERR;
		} else {
			hw->gptc++;
		}
		d->status = st;
		hw->tdh = (hw->tdh + 1) & (hw->tdlen - 1);
		n++;
	}
	cause(hw, NIC_INT_TXDW);
	return n;
}

static bool rx_room(const struct nic_hw *hw)
{
	return (hw->rctl & NIC_RCTL_EN) && hw->rdlen && hw->rdh != hw->rdt;
}

/* For this card: its address, broadcast or multicast, or promiscuous. */
static bool accepts(const struct nic_hw *hw, const unsigned char *f)
{
	if ((f[0] & 1) || (hw->rctl & NIC_RCTL_PROMISC))
		return true;
	uint32_t lo = f[0] | f[1] << 8 | f[2] << 16 | (uint32_t)f[3] << 24;
	uint32_t hi = f[4] | f[5] << 8;
	return lo == hw->ral && hi == (hw->rah & 0xffff);
}

/* Receives what the wire has while the ring has room; frames read. */
static int nic_rx(struct nic_hw *hw)
{
	if (!rx_room(hw))
		return 0;
	struct nic_desc *r = ring(hw, hw->rdbal, hw->rdbah, hw->rdlen);
	if (!r) {
		hw->rctl = 0;
		return dma_error(hw);
	}
	int n = 0, got = 0;
	while (rx_room(hw) && n < NIC_BATCH) {
		ssize_t len = read(hw->fd, hw->bounce, sizeof(hw->bounce));
		if (len <= 0)
			break;
		n++;
		if (len < ETH_HLEN || (size_t)len > hw->maxframe) {
			hw->roc++;
			continue;
		}
		if (!accepts(hw, hw->bounce)) {
			hw->filt++;
			continue;
		}
		volatile struct nic_desc *d = &r[hw->rdh];
		unsigned char *buf = translate(hw, d->addr, (size_t)len);
		if (!buf || d->len < len) {
			if (!buf)
				dma_error(hw);
			else
				hw->roc++;
			d->status = NIC_DESC_DD | NIC_DESC_ERR;
		} else {
			memcpy(buf, hw->bounce, (size_t)len);
			d->len = (unsigned short)len;
			d->status = NIC_DESC_DD;
			hw->gprc++;
			got++;
		}
		hw->rdh = (hw->rdh + 1) & (hw->rdlen - 1);
	}
	if (got)
		cause(hw, NIC_INT_RXT0);
	return n;
}

/* An interrupt: the claimed driver's handler, if it asked for them. */
static void nic_irq(struct nic_hw *hw)
{
	pthread_mutex_lock(&hw->irq_lock);
	struct nic_device *nic = hw->irq_on ? hw->claim : NULL;
	hw->in_irq = nic != NULL;
	pthread_mutex_unlock(&hw->irq_lock);
	if (!nic)
		return;
	const struct nic_irq_ops *ops = nic->irq_ops;	/* a wrapper table if isolated */
	nooks_bound_push(NIC_IRQ_BOUND, "an interrupt handler");
	if (ops && ops->handler)
		ops->handler(nic);
	nooks_bound_pop();
	pthread_mutex_lock(&hw->irq_lock);
	hw->in_irq = false;
	pthread_cond_broadcast(&hw->irq_done);
	pthread_mutex_unlock(&hw->irq_lock);
}

static void *nic_main(void *arg)
{
	struct nic_hw *hw = arg;
	char name[16];
	snprintf(name, sizeof(name), "nk-nic%u", hw->index);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		pthread_mutex_lock(&hw->lock);
		int did = nic_tx(hw) + nic_rx(hw);
		bool raise = hw->irq_raise, room = rx_room(hw);
		hw->irq_raise = false;
		hw->asleep = !did && !raise;
		pthread_mutex_unlock(&hw->lock);
		if (raise)
			nic_irq(hw);
		if (did || raise)
			continue;
		struct pollfd p[2] = { { hw->evfd, POLLIN, 0 }, { hw->fd, room ? POLLIN : 0, 0 } };
		if (poll(p, 2, -1) > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			if (read(hw->evfd, &v, sizeof(v)) < 0)
				continue;
		}
		pthread_mutex_lock(&hw->lock);
		hw->asleep = false;
		pthread_mutex_unlock(&hw->lock);
	}
	return NULL;
}

/* ---- making cards ------------------------------------------------------------ */

static int tap_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "TAP device %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int nk_nic_create(const char *wire, char *err, size_t errlen)
{
	if (!wire || !*wire || strlen(wire) >= IFNAMSIZ) {
		snprintf(err, errlen, "bad TAP device name '%s'", wire ? wire : "");
		return -1;
	}
	pthread_mutex_lock(&nics_lock);
	if (nnics == NIC_MAX) {
		pthread_mutex_unlock(&nics_lock);
		snprintf(err, errlen, "at most %d cards", NIC_MAX);
		return -1;
	}
	struct nic_hw *hw = calloc(1, sizeof(*hw));
	if (!hw) {
		pthread_mutex_unlock(&nics_lock);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	hw->index = (unsigned)nnics;
	snprintf(hw->wire, sizeof(hw->wire), "%s", wire);
	hw->fd = tap_open(wire, err, errlen);
	hw->evfd = hw->fd < 0 ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hw->fd < 0 || hw->evfd < 0) {
		if (hw->fd >= 0) {
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
			close(hw->fd);
		}
		free(hw);
		pthread_mutex_unlock(&nics_lock);
		return -1;
	}
	pthread_mutex_init(&hw->lock, NULL);
	pthread_mutex_init(&hw->irq_lock, NULL);
	pthread_cond_init(&hw->irq_done, NULL);
	/* its own address, 02:00:6e:6b:00:NN (locally administered) */
	hw->perm_ral = 0x02 | 0x6e << 16 | 0x6bu << 24;
	hw->perm_rah = (hw->index + 1) << 8;
	hw->status = NIC_STATUS_LU;
	reset(hw);
	if (pthread_create(&hw->thread, NULL, nic_main, hw)) {
		snprintf(err, errlen, "cannot start its thread");
		close(hw->fd);
		close(hw->evfd);
		free(hw);
		pthread_mutex_unlock(&nics_lock);
		return -1;
	}
	pthread_detach(hw->thread);
	nics[nnics++] = hw;
	pthread_mutex_unlock(&nics_lock);
	return (int)hw->index;
}

/* ---- the driver's API -------------------------------------------------------- */

static bool on_device_thread(const struct nic_hw *hw)
{
	return pthread_equal(pthread_self(), hw->thread);
}

/* No interrupts from here on; waits for a handler running elsewhere. */
static void irq_off(struct nic_hw *hw, bool unclaim)
{
	pthread_mutex_lock(&hw->irq_lock);
	hw->irq_on = false;
	while (hw->in_irq && !on_device_thread(hw))
		pthread_cond_wait(&hw->irq_done, &hw->irq_lock);
	if (unclaim)
		hw->claim = NULL;
	pthread_mutex_unlock(&hw->irq_lock);
}

struct nic_device *nic_claim(unsigned int index)
{
	struct nic_hw *hw = nic_hw_of(index);
	if (!hw)
		return NULL;
	struct nic_device *nic = nooks_arena_alloc(sizeof(*nic));
	if (!nic)
		return NULL;
	nic->index = index;
	nic->kpriv = hw;
	pthread_mutex_lock(&hw->irq_lock);
	if (hw->claim) {
		pthread_mutex_unlock(&hw->irq_lock);
		nooks_arena_free(nic);
		return NULL;
	}
	hw->claim = nic;
	pthread_mutex_unlock(&hw->irq_lock);
	pthread_mutex_lock(&hw->lock);
	reset(hw);
	pthread_mutex_unlock(&hw->lock);
	return nic;
}

void nic_release(struct nic_device *nic)
{
	if (!nic)
		return;
	struct nic_hw *hw = nic->kpriv;
	irq_off(hw, true);
	pthread_mutex_lock(&hw->lock);
	reset(hw);
	for (unsigned i = 0; i < NIC_MAPS; i++)
		if (hw->maps[i].used)
			map_drop(&hw->maps[i]);
	pthread_mutex_unlock(&hw->lock);
	nooks_arena_free(nic);
}

int nic_request_irq(struct nic_device *nic)
{
	if (!nic || !nic->irq_ops || !nic->irq_ops->handler)
		return -EINVAL;
	struct nic_hw *hw = nic->kpriv;
	pthread_mutex_lock(&hw->irq_lock);
	hw->irq_on = hw->claim == nic;
	pthread_mutex_unlock(&hw->irq_lock);
	return hw->claim == nic ? 0 : -EINVAL;
}

void nic_free_irq(struct nic_device *nic)
{
	if (nic)
		irq_off(nic->kpriv, false);
}

unsigned int nic_readl(struct nic_device *nic, unsigned int reg)
{
	struct nic_hw *hw = nic->kpriv;
	const struct nic_reg *r = reg_of(reg);
	uint32_t v = 0;
	if (!r)
		return 0;
	pthread_mutex_lock(&hw->lock);
	v = r->read ? r->read(hw) : *reg_field(hw, r);
	pthread_mutex_unlock(&hw->lock);
	return v;
}

void nic_writel(struct nic_device *nic, unsigned int reg, unsigned int val)
{
	struct nic_hw *hw = nic->kpriv;
	const struct nic_reg *r = reg_of(reg);
	if (!r || (r->access == REG_RO && !r->write))
		return;
	pthread_mutex_lock(&hw->lock);
	if (r->access == REG_RW)
		*reg_field(hw, r) = val;
	if (r->write)
		r->write(hw, val);
	pthread_mutex_unlock(&hw->lock);
}

dma_addr_t nic_dma_map(struct nic_device *nic, void *buf, size_t len)
{
	struct nic_hw *hw = nic->kpriv;
	pthread_mutex_lock(&hw->lock);
	dma_addr_t a = map_add(hw, buf, len, NULL);
	pthread_mutex_unlock(&hw->lock);
	return a;
}

dma_addr_t nic_dma_map_skb(struct nic_device *nic, struct sk_buff *skb)
{
	struct nic_hw *hw = nic->kpriv;
	dma_addr_t a = NIC_DMA_ERROR;
	if (!skb || skb->dma_addr || skb->data_off >= skb->size)
		return a;
	pthread_mutex_lock(&hw->lock);
	a = map_add(hw, skb_data(skb), skb->size - skb->data_off, skb);
	if (a != NIC_DMA_ERROR) {
		skb->dma_addr = a;
		skb->dma_nic = hw->index;
	}
	pthread_mutex_unlock(&hw->lock);
	return a;
}

void nic_dma_unmap(struct nic_device *nic, dma_addr_t addr)
{
	struct nic_hw *hw = nic->kpriv;
	pthread_mutex_lock(&hw->lock);
	struct nic_map *m = map_find(hw, addr);
	if (m && !(addr & (NIC_MAP_MAX - 1)))
		map_drop(m);
	pthread_mutex_unlock(&hw->lock);
}

void nk_nic_unmap_skb(struct sk_buff *skb)
{
	struct nic_hw *hw = nic_hw_of(skb->dma_nic);
	if (!hw)
		return;
	pthread_mutex_lock(&hw->lock);
	struct nic_map *m = map_find(hw, skb->dma_addr);
	if (m && m->skb == skb)
		map_drop(m);
	skb->dma_addr = 0;
	pthread_mutex_unlock(&hw->lock);
}

void nk_nic_show(FILE *out)
{
	pthread_mutex_lock(&nics_lock);
	int n = nnics;
	pthread_mutex_unlock(&nics_lock);
	for (int i = 0; i < n; i++) {
		struct nic_hw *hw = nics[i];
		pthread_mutex_lock(&hw->lock);
		uint32_t lo = hw->ral, hi = hw->rah;
		fprintf(out, "nic %u wire %s %s mac %02x:%02x:%02x:%02x:%02x:%02x maxframe %u "
			"rx %u tx %u filtered %u oversize %u dmaerr %u\n", hw->index, hw->wire,
			hw->claim ? "claimed" : "free", lo & 0xff, lo >> 8 & 0xff, lo >> 16 & 0xff,
			lo >> 24, hi & 0xff, hi >> 8 & 0xff, hw->maxframe, hw->gprc, hw->gptc,
			hw->filt, hw->roc, hw->dmae);
		pthread_mutex_unlock(&hw->lock);
	}
}
