/*
 * mitmnet — the network of "lab start mitm --netns": three network namespaces, so that the MITM
 * lab's traffic really crosses interfaces, as on a classroom network.
 *
 *   devices                       attacker                                  broker
 *   10.231.10.2 mq-to-attacker ==veth== mq-to-device 10.231.10.1
 *                                       mq-to-broker 10.231.10.5 ==veth== mq-to-attacker 10.231.10.6
 *
 * The simulated ESP32s live in the devices' namespace and are pointed at the attacker by its
 * address; the rogue relay lives in the attacker's and reaches the real broker in the broker's.
 * Nothing forwards between the links, so a device has no way to the broker but through the relay,
 * and nothing is spoofed: no ARP, no DNS. The addresses are fixed: each namespace has routing
 * tables of its own, so they cannot clash with the machine's networks.
 *
 * The namespaces have no names in /run/netns (nothing to unmount, nothing another tool lists as
 * ours): each is held by a small process of its own ("mqttls-netns", recorded with its kernel
 * start time in DIR/netns.json), and a namespace ends by itself when its holder and everything
 * in it are gone, its veth links with it. The holders live until lab stop or the next start
 * (mitmnet_down), whatever happened to the lab meanwhile; a start that fails removes what it
 * made. Labs of different users or test runs never meet: every lab has its own. Enter one with
 * nsenter -t HOLDER_PID -n ...
 *
 * Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2's ip. DIR is the lab's directory.
 */
#ifndef MQTTLS_MITMNET_H
#define MQTTLS_MITMNET_H

#include <stdbool.h>
#include <sys/types.h>

#include "attrib.h"
#include "err.h"

enum mitmnet_role { MITMNET_DEVICE, MITMNET_ATTACKER, MITMNET_BROKER, MITMNET_ROLES };

#define MITMNET_CIDR "10.231.10.0/24"          /* every address of the lab network (the gate's --lab-bind) */
#define MITMNET_DEVICE_IP "10.231.10.2"
#define MITMNET_ATTACKER_IP "10.231.10.1"      /* the relay listens here, facing the devices */
#define MITMNET_ATTACKER_UP_IP "10.231.10.5"   /* ... and leaves from here towards the broker */
#define MITMNET_BROKER_IP "10.231.10.6"

/* "devices", "attacker", "broker". */
const char *mitmnet_role_name(enum mitmnet_role r);

/* Build the namespaces and links for the lab in DIR (what an earlier start left is removed
 * first). 0, or -1 with err and nothing left behind. */
int mitmnet_up(const char *dir, struct mq_err *err) MQ_WUR;

/* Stop what still runs in the lab's namespaces (TERM, then KILL), then their holders: the
 * namespaces and their interfaces go with them. Quiet; nothing to do when there are none. */
void mitmnet_down(const char *dir);

/* The process holding a role's namespace, 0 when it is not there (any more). */
pid_t mitmnet_holder(const char *dir, enum mitmnet_role r);

/* An open descriptor of a role's namespace (for setns() in a child), or -1 with err. close() it. */
int mitmnet_open(const char *dir, enum mitmnet_role r, struct mq_err *err) MQ_WUR;

/*
 * Move the calling thread into a role's namespace. Returns a descriptor of the namespace it was
 * in, for mitmnet_leave(), or -1 with err (nothing changed).
 */
int mitmnet_enter(const char *dir, enum mitmnet_role r, struct mq_err *err) MQ_WUR;
/* Back to the namespace enter() came from; nothing for a negative descriptor. */
void mitmnet_leave(int home);

#endif
