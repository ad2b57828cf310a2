/* event_ids.h - the Event Log message ID (nlbctld_msg.mc) of each kind of
 * event the portable core logs (enum model_event). The core names the
 * kind; only the Windows shell knows the numbers. */
#ifndef NLBCTL_EVENT_IDS_H
#define NLBCTL_EVENT_IDS_H

#include <stdint.h>

/* The MSG_* ID for a model_event; 0 for MODEL_EV_NONE or an unknown value
 * (the caller then logs the line without an ID of its own). */
unsigned long event_id_of(uint8_t model_event);

#endif
