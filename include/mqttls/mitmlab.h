/*
 * mitmlab — the MITM lab's processes beside its real broker: the rogue relay (mqttls mitm), a
 * device that does not verify (setInsecure), one that does (setCACert), and a dashboard
 * subscribed on the real broker. lab.c starts the broker and calls these through the lab's row.
 *
 * Each companion is a detached mqttls process (its own session, so it outlives the command that
 * started it) with its output in LABDIR/NAME.log; LABDIR/companions.json records each PID with
 * its kernel start time, so a stop never signals a PID that was reused by someone else.
 * Everything stays on loopback, or in instructor mode (--lab-bind) on this machine's address in
 * the classroom range, which the rogue is told so that its own gate judges every address again.
 * The devices reach the rogue by its address (no ARP or DNS spoofing), as the lab's text explains.
 */
#ifndef MQTTLS_MITMLAB_H
#define MQTTLS_MITMLAB_H

#include "attrib.h"
#include "err.h"
#include "lab.h"

/* Start the companions (or find them all running). 0, or -1 with err and nothing left running. */
int mitmlab_start(const struct lab_info *broker, struct mq_err *err) MQ_WUR;

/* Stop every companion recorded for this lab (TERM, then KILL after 3 s) and forget them. */
void mitmlab_stop(const struct lab_info *broker);

/* What runs where and what to watch, as text for the faces (free() it); NULL when not running. */
char *mitmlab_describe(const struct lab_info *broker);

#endif
