/*
 * nk/nic.h - the emulated network card ("nic"): its bus API and its
 * hardware documentation.  idl/nk/netdev.idl annotates the API
 * (nk/netdevice.h includes this header).
 *
 * The card is nkernel's (`nkernel --nic TAP`): a device thread that
 * moves frames between descriptor rings in memory the driver maps and a
 * TAP device, its wire.  A driver claims card INDEX, maps its rings and
 * buffers for the card (nic_dma_map: the card reaches memory only
 * through its mappings, as through an IOMMU), programs the registers
 * below through nic_readl/nic_writel, and gets interrupts as calls of
 * its nic_irq_ops.  Everything the card reads from a descriptor is
 * checked against the mappings: a bad address is a DMA error, counted,
 * never a write to memory the driver did not map.
 */
#ifndef NK_NIC_H
#define NK_NIC_H

#include "nk/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A bus address: what the card reads in descriptors and registers. */
typedef unsigned long long dma_addr_t;
#define NIC_DMA_ERROR	0ULL

/* ---- registers (32 bits each; offsets for nic_readl/nic_writel) ---- */
#define NIC_CTRL	0x00	/* w: NIC_CTRL_RST resets the rings and masks */
#define NIC_STATUS	0x04	/* r: NIC_STATUS_LU while the wire is there */
#define NIC_ICR		0x08	/* r: interrupt causes; reading clears them */
#define NIC_IMS		0x0c	/* r: the mask; w: enable these causes */
#define NIC_IMC		0x10	/* w: disable these causes */
#define NIC_RCTL	0x14	/* NIC_RCTL_EN, NIC_RCTL_PROMISC */
#define NIC_TCTL	0x18	/* NIC_TCTL_EN */
#define NIC_MAXFRAME	0x1c	/* longest frame, header included, no FCS */
#define NIC_RAL		0x20	/* receive address: bytes 0..3 (byte 0 lowest) */
#define NIC_RAH		0x24	/* bytes 4..5 */
#define NIC_PERM_RAL	0x28	/* r: the card's own address ("EEPROM") */
#define NIC_PERM_RAH	0x2c
#define NIC_TDBAL	0x30	/* transmit ring: bus address, low 32 bits */
#define NIC_TDBAH	0x34	/* high 32 bits */
#define NIC_TDLEN	0x38	/* descriptors in the ring: a power of 2, 8..4096 */
#define NIC_TDH		0x3c	/* r: head, the card's next descriptor */
#define NIC_TDT		0x40	/* tail: one past the driver's last */
#define NIC_RDBAL	0x44	/* receive ring, the same way */
#define NIC_RDBAH	0x48
#define NIC_RDLEN	0x4c
#define NIC_RDH		0x50
#define NIC_RDT		0x54
#define NIC_GPRC	0x60	/* r: frames received into the ring */
#define NIC_GPTC	0x64	/* r: frames sent on the wire */
#define NIC_FILT	0x68	/* r: frames not for this address, dropped */
#define NIC_ROC		0x6c	/* r: frames too long, dropped */
#define NIC_DMAE	0x70	/* r: descriptors with a bad bus address */

#define NIC_CTRL_RST	0x1u
#define NIC_STATUS_LU	0x1u
#define NIC_RCTL_EN	0x1u
#define NIC_RCTL_PROMISC 0x2u
#define NIC_TCTL_EN	0x1u

/* interrupt causes (ICR, IMS, IMC) */
#define NIC_INT_TXDW	0x1u	/* transmit descriptors written back */
#define NIC_INT_RXT0	0x2u	/* frames received */
#define NIC_INT_LSC	0x4u	/* link status changed */
#define NIC_INT_DMAE	0x8u	/* a descriptor had a bad bus address */

/*
 * A descriptor, 16 bytes.  Transmit: the driver sets addr and len (the
 * frame) and clears status; the card sends the frame and sets DD (DD |
 * ERR if it could not).  Receive: the driver sets addr and len (the
 * buffer's size) and clears status; the card writes a frame there, sets
 * len to its length and status to DD.  The card owns the descriptors
 * from head to tail.
 */
struct nic_desc {
	dma_addr_t addr;
	unsigned short len;
	unsigned char status;
	unsigned char cmd;
	unsigned int rsvd;
};
#define NIC_DESC_DD	0x1u
#define NIC_DESC_ERR	0x2u

struct nic_device;

/* An interrupt: the card calls handler on its own thread, once per new
 * cause it raises while the cause is enabled (IMS). */
struct nic_irq_ops {
	int (*handler)(struct nic_device *nic);	/* IRQ_HANDLED or IRQ_NONE */
};
#define IRQ_NONE	0
#define IRQ_HANDLED	1

/* A claimed card, the driver's handle on it. */
struct nic_device {
	unsigned int index;			/* the card's number */
	const struct nic_irq_ops *irq_ops;	/* set before nic_request_irq */
	void *irq_data;				/* the driver's */
	void *kpriv;				/* the kernel's */
};

/* Claims card index: NULL if there is none or it is claimed already.
 * The card starts reset: rings off, every cause masked. */
struct nic_device *nic_claim(unsigned int index);
/* Resets the card (its mappings go), frees its interrupt, unclaims it. */
void nic_release(struct nic_device *nic);
/* Interrupts from now on (0; -EINVAL without irq_ops->handler). */
int nic_request_irq(struct nic_device *nic);
/* No more interrupts; waits for a handler that is running. */
void nic_free_irq(struct nic_device *nic);
/* A register (above); unknown offsets read 0 and ignore writes. */
unsigned int nic_readl(struct nic_device *nic, unsigned int reg);
void nic_writel(struct nic_device *nic, unsigned int reg, unsigned int val);
/* Maps len bytes at buf (the driver's memory: rings) for the card; the
 * bus address, or NIC_DMA_ERROR. */
dma_addr_t nic_dma_map(struct nic_device *nic, void *buf, size_t len);
/* Maps a packet buffer's data (from its data to the end of its
 * buffer); once per buffer at a time.  Freeing the buffer unmaps it. */
struct sk_buff;
dma_addr_t nic_dma_map_skb(struct nic_device *nic, struct sk_buff *skb);
/* Unmaps what a nic_dma_map* call returned. */
void nic_dma_unmap(struct nic_device *nic, dma_addr_t addr);

#ifdef __cplusplus
}
#endif

#endif
