/* nlbctl.pml - the coordination protocol of nlbctl in Promela, for SPIN.
 *
 * One coordinator, two agents, one NLB port rule per agent's host. What is
 * modelled and what is abstracted is in README.md beside this file; in
 * short: time passes in ticks, every message is delivered or lost within a
 * tick (a link keeps order, but may lose a message or deliver one twice),
 * an NLB command takes effect at some moment within NLB_T ticks of being
 * issued, agents and the coordinator crash and restart keeping only their
 * persisted epochs.
 *
 * Checked (assertions; pan -a also finds invalid end states):
 *   I1  never both ports enabled (asserted at every change of a port: set_port);
 *   I5  an agent accepts an order only at its epoch or a newer one, and no
 *       epoch, the coordinator's or an agent's, ever decreases (set_epoch).
 *
 * Compile-time switches (spin -D...):
 *   LOSS=n       the coordinator's host-loss timeout in ticks (default 4);
 *   ISO=n        the agents' isolation timeout in ticks (default 2);
 *   NLB_T=n      an NLB command's time limit in ticks (default 1);
 *                the timing rule is ISO + NLB_T < LOSS (message delay is
 *                below one tick and folded in): LOSS=3 breaks it;
 *   ACCEPT_OLD   agents obey orders whatever their epoch (fencing by epochs
 *                off), to show what epochs protect;
 *   ENABLE_WHEN_ISOLATED  agents obey SET_ROLE primary even when an enable
 *                could still run when they fence (the agent before its fix:
 *                finds an I1 violation);
 *   NO_ORDER_AGE agents obey SET_ROLE primary however old the report it
 *                answers (no echo check);
 *   MAXE, AGENT_RESTARTS, COORD_RESTARTS, DUPS  the bounds (below).
 */

#ifndef LOSS
#define LOSS 4
#endif
#ifndef ISO
#define ISO 2
#endif
#ifndef NLB_T
#define NLB_T 1
#endif
#ifndef MAXE
#define MAXE 3      /* epochs 0..MAXE: the coordinator starts no transfer past it */
#endif
#ifndef AGENT_RESTARTS
#define AGENT_RESTARTS 1  /* crashes and restarts, both agents together */
#endif
#ifndef COORD_RESTARTS
#define COORD_RESTARTS 1
#endif
#ifndef DUPS
#define DUPS 1      /* duplicated messages, in all */
#endif

#define NONE 2      /* no node */
mtype = { SET_ROLE, REPORT };
mtype = { BACKUP, PRIMARY };              /* an agent's mode */
mtype = { UNK, EN, DIS, NOCMD };          /* a port's state; NOCMD: no command running */
mtype = { ELECTING, STABLE, DEMOTING, PROMOTING };  /* the coordinator's phase */

/* The links: coordinator -> agent i and agent i -> coordinator. A message
 * is (type, epoch, mode, x): SET_ROLE(epoch, mode); REPORT(epoch, mode,
 * port as read back). Each link is one TCP connection: in order; a message
 * may be lost (the connection broke: later ones may still come, which only
 * widens the behaviours) or delivered twice in a row (DUPS). Heartbeats do
 * not travel in them: see heartbeat(). */
chan to_agent[2] = [2] of { mtype, byte, mtype, byte };
chan to_coord[2] = [1] of { mtype, byte, mtype, byte };
byte dups = 0;

/* Scratch for one step: every use is inside one atomic step that never
 * blocks half-way, so none of it is state (hidden: not in the state vector,
 * which keeps stale scratch values from multiplying the states). */
hidden mtype mt, mm;
hidden byte me, mx, back;

/* ---- the world ---------------------------------------------------------- */
mtype port[2] = DIS;      /* the real NLB port rule on each host */

/* I1: never two ports enabled. A port changes only here, so checking each
 * change checks every state (cheaper than a monitor process, which doubles
 * the states: with it and without it). */
inline set_port(i, v) {
    port[i] = v;
    assert(!(port[0] == EN && port[1] == EN))
}

/* ---- the agents ----------------------------------------------------------- */
mtype a_mode[2] = BACKUP;
byte a_epoch[2] = 0;      /* persisted */
mtype a_desired[2] = DIS;
mtype a_known[2] = UNK;   /* the port as last read back */
mtype a_cmd[2] = NOCMD;   /* the NLB command running, if any */
byte a_cmd_age[2] = 0;    /* ticks since it was issued */
byte a_silence[2] = 0;    /* ticks since the coordinator last heard us, as far as we know */
byte agent_restarts = 0;

/* ---- the coordinator ---------------------------------------------------- */
byte c_epoch = 0;         /* persisted */
mtype phase = ELECTING;
byte primary = NONE, from = NONE, to = NONE;
bool heard[2] = 0;        /* a report since the coordinator (re)started */
mtype r_mode[2] = BACKUP; /* the last report from each node */
mtype r_port[2] = UNK;
byte r_epoch[2] = 0;
byte c_silence[2] = 0;    /* ticks since the last report (or since the restart) */
byte coord_restarts = 0;

/* I5: an epoch only grows. */
inline set_epoch(var, me) {
    assert(me >= var);
    var = me
}

/* A lossy send: the message may vanish; a full link drops it. */
inline send(ch, mt, me, mm, mx) {
    if
    :: nfull(ch) -> ch!mt, me, mm, mx
    :: true -> skip
    fi
}

#define connected(i) (heard[i] && c_silence[i] < LOSS)
#define lost(i) (c_silence[i] >= LOSS)

/* ---- agent helpers --------------------------------------------------------- */

inline reconcile(i) {
    if
    :: a_cmd[i] == NOCMD && a_known[i] != a_desired[i] ->
        a_cmd[i] = a_desired[i]; a_cmd_age[i] = 0
    :: else -> skip
    fi
}

/* While an NLB command runs the last read-back may already be wrong: the
 * agent says UNK (fill_report in agent.c), so that no report taken before a
 * command lands can confirm a disable. */
inline report(i) {
    send(to_coord[i], REPORT, a_epoch[i], a_mode[i], (a_cmd[i] != NOCMD -> UNK : a_known[i]))
}

/* ---- coordinator helpers ---------------------------------------------------- */

/* An order says how long ago the report it answers came (x): the product's
 * echo of that report's clock (coordinator.c send_role). Orders go only on
 * a link the coordinator has heard a report on since it (re)started or the
 * agent did: before that there is no link to the agent's process (the old
 * one's orders are lost), and a primary order waits for a report. */
inline order(i, mm) {
    if
    :: heard[i] -> send(to_agent[i], SET_ROLE, c_epoch, mm, c_silence[i])
    :: else -> skip
    fi
}

inline promote() {
    phase = PROMOTING;
    order(to, PRIMARY)
}

/* Break before make: the new primary hears of its role only once the old
 * one's disable is confirmed at this epoch, or it is known fenced. */
inline begin_transfer(f, mt) {
    set_epoch(c_epoch, c_epoch + 1);
    from = f; to = mt;
    order(from, BACKUP);
    if
    :: connected(from) &&
       !(phase == ELECTING && heard[from] && r_mode[from] == BACKUP && r_port[from] == DIS) ->
        phase = DEMOTING
    :: else -> promote()
    fi
}

#define confirmed_disabled(i) (connected(i) && r_mode[i] == BACKUP && r_port[i] == DIS && \
                               r_epoch[i] == c_epoch)
#define confirmed_enabled(i) (connected(i) && r_mode[i] == PRIMARY && r_port[i] == EN && \
                              r_epoch[i] == c_epoch)

/* A heartbeat to agent i says how long ago the coordinator last heard it;
 * the agent counts its contact from then (note_contact). It is sent and
 * delivered in one step, with any value from the true one, c_silence[i],
 * up to a_silence[i] - 1 (a larger one changes nothing): a value larger
 * than the true one stands for a heartbeat sent earlier in the tick and
 * delivered late, or for one lost (nothing sent: the step not taken).
 * Heartbeats are not limited to one a tick: each tells the truth or less,
 * so more of them only widen the behaviours. The step is taken only when
 * no order is in the link: on the real TCP connection a heartbeat comes
 * behind the orders sent before it, never overtakes them (an earlier
 * version of this model let it, and an exhaustive search found an I1
 * "violation" no TCP link can produce: README.md). */
inline heartbeat(i) {
    mx = c_silence[i];
    do
    :: mx + 1 < a_silence[i] -> mx++
    :: true -> break
    od;
    a_silence[i] = mx
}

/* ---- processes ---------------------------------------------------------------- */

/* An agent's handling of one message from the coordinator. */
inline on_message(i) {
    if
    :: mt == SET_ROLE ->
        if
#ifndef ACCEPT_OLD
        :: me < a_epoch[i] -> report(i)          /* refused: tells it our epoch */
#endif
#ifndef ENABLE_WHEN_ISOLATED
        /* Refused: an enable started now might still run when the fence
         * fires, and hold back its disable (on_set_role in agent.c). */
        :: me >= a_epoch[i] && mm == PRIMARY && a_mode[i] != PRIMARY &&
           a_silence[i] + NLB_T >= ISO -> report(i)
#endif
#ifndef NO_ORDER_AGE
        /* Refused: the enable might land after the coordinator could have
         * given up on us, LOSS after the report this order answers (the
         * echo check of on_set_role). */
        :: me >= a_epoch[i] && mm == PRIMARY && a_mode[i] != PRIMARY &&
           mx + NLB_T >= LOSS -> report(i)
#endif
        :: else ->
#ifndef ACCEPT_OLD
            set_epoch(a_epoch[i], me);
#else
            a_epoch[i] = me;
#endif
            a_mode[i] = mm;
            a_desired[i] = (mm == PRIMARY -> EN : DIS);
            reconcile(i);
            report(i)
        fi
    :: else -> skip
    fi
}

proctype agent(byte i)
{
    do
    /* The next message from the coordinator; or (DUPS) the next one
     * delivered a first time and left in the link for a second. */
    :: atomic { nempty(to_agent[i]) ->
        to_agent[i]?mt, me, mm, mx;
        on_message(i) }
    :: atomic { nempty(to_agent[i]) && dups < DUPS ->
        dups++;
        to_agent[i]?<mt, me, mm, mx>;
        on_message(i) }
    /* The running NLB command takes effect and is read back. */
    :: atomic { a_cmd[i] != NOCMD ->
        set_port(i, a_cmd[i]);
        a_known[i] = port[i];
        a_cmd[i] = NOCMD;
        reconcile(i);
        report(i) }
    /* Fencing: a primary out of contact for ISO disables its own port. */
    :: atomic { a_mode[i] == PRIMARY && a_silence[i] >= ISO ->
        a_mode[i] = BACKUP;
        a_desired[i] = DIS;
        reconcile(i);
        report(i) }
    /* The heartbeat report (any time: a repeated report changes nothing). */
    :: atomic { empty(to_coord[i]) -> report(i) }
    /* Crash and restart, at once: a dead agent cannot fence, so the model
     * takes the documented assumption (README.md of the product: a short
     * restart-on-failure delay) in its ideal form. The NLB command in
     * progress may land at the crash, or not: then the safe start's disable
     * takes its place within the time limit the lost command had (an
     * earlier version restarted its clock, which delays a fence's disable
     * past the timing rule by a whole NLB command: an exhaustive search
     * found I1 broken that way). The epoch survives; then safe start:
     * backup, port disabled whatever it looked like. */
    :: atomic { agent_restarts < AGENT_RESTARTS ->
        agent_restarts++;
        if
        :: a_cmd[i] != NOCMD -> set_port(i, a_cmd[i]); a_cmd_age[i] = 0
        :: a_cmd[i] != NOCMD -> skip               /* lost: its age carries over */
        :: a_cmd[i] == NOCMD -> a_cmd_age[i] = 0
        fi;
        do
        :: to_agent[i]?_, _, _, _
        :: to_coord[i]?_, _, _, _
        :: empty(to_agent[i]) && empty(to_coord[i]) -> break
        od;
        a_mode[i] = BACKUP;
        a_desired[i] = DIS;
        a_known[i] = UNK;
        a_cmd[i] = DIS;
        a_silence[i] = 0;
        heard[i] = 0 }       /* the coordinator gets the new process's link */
    od
}

/* A report: remember it, never hold an epoch below a node's, adopt a
 * primary found serving after a restart, and tell anyone who holds the
 * wrong role or an older epoch. */
inline on_report(i) {
    to_coord[i]?mt, me, mm, mx;
    heard[i] = 1; c_silence[i] = 0;
    r_mode[i] = mm; r_port[i] = mx; r_epoch[i] = me;
    if
    :: me > c_epoch -> set_epoch(c_epoch, me)
    :: else -> skip
    fi;
    if
    :: phase == ELECTING && confirmed_enabled(i) -> primary = i; phase = STABLE
    :: else -> skip
    fi;
    if
    :: phase == STABLE ->
        mm = (i == primary -> PRIMARY : BACKUP);
        if
        :: r_mode[i] != mm || r_epoch[i] < c_epoch -> order(i, mm)
        :: else -> skip
        fi
    :: phase == DEMOTING || phase == PROMOTING ->
        mm = ((i == to && phase == PROMOTING) -> PRIMARY : BACKUP);
        if
        :: r_mode[i] != mm || r_epoch[i] < c_epoch -> order(i, mm)
        :: else -> skip
        fi
    :: else -> skip
    fi
}

proctype coordinator()
{
    do
    /* A report from agent i. */
    :: atomic { nempty(to_coord[0]) -> on_report(0) }
    :: atomic { nempty(to_coord[1]) -> on_report(1) }
    /* Election: node 0 is preferred. An absent other node may be a primary
     * that lost only the coordinator: elect only once it is lost (fenced). */
    :: atomic { phase == ELECTING && c_epoch < MAXE && connected(0) &&
                (connected(1) || lost(1)) -> begin_transfer(1, 0) }
    :: atomic { phase == ELECTING && c_epoch < MAXE && !connected(0) && connected(1) &&
                lost(0) -> begin_transfer(0, 1) }
    :: atomic { phase == DEMOTING && (confirmed_disabled(from) || lost(from)) -> promote() }
    :: atomic { phase == PROMOTING && confirmed_enabled(to) -> primary = to; phase = STABLE }
    /* Host loss (W3): a primary silent for LOSS has fenced itself. */
    :: atomic { phase == STABLE && lost(primary) && connected(1 - primary) && c_epoch < MAXE ->
        begin_transfer(primary, 1 - primary) }
    /* Manual switchover (W1). */
    :: atomic { phase == STABLE && connected(primary) && connected(1 - primary) &&
                c_epoch < MAXE ->
        begin_transfer(primary, 1 - primary) }
    /* Deadlines, at any moment (their lengths are not modelled). */
    :: atomic { phase == DEMOTING ->
        if
        :: primary != NONE && connected(primary) && c_epoch < MAXE ->
            back = primary;                       /* give the role back */
            primary = NONE; phase = ELECTING;
            begin_transfer(1 - back, back)
        :: else -> primary = NONE; phase = ELECTING
        fi }
    :: atomic { phase == PROMOTING -> primary = to; phase = STABLE }
    /* Heartbeats, only to a node heard since the (re)start, and only when
     * they tell the agent something (see heartbeat()). */
    :: atomic { connected(0) && c_silence[0] < a_silence[0] && empty(to_agent[0]) ->
        heartbeat(0) }
    :: atomic { connected(1) && c_silence[1] < a_silence[1] && empty(to_agent[1]) ->
        heartbeat(1) }
    /* Crash and restart: only the epoch survives; connections close. */
    :: atomic { coord_restarts < COORD_RESTARTS ->
        coord_restarts++;
        do
        :: to_agent[0]?_, _, _, _
        :: to_agent[1]?_, _, _, _
        :: to_coord[0]?_, _, _, _
        :: to_coord[1]?_, _, _, _
        :: empty(to_agent[0]) && empty(to_agent[1]) && empty(to_coord[0]) &&
           empty(to_coord[1]) -> break
        od;
        phase = ELECTING; primary = NONE; from = NONE; to = NONE;
        heard[0] = 0; heard[1] = 0;
        r_port[0] = UNK; r_port[1] = UNK;
        c_silence[0] = 0; c_silence[1] = 0 }
    od
}

/* Time: a tick passes only when every message sent has arrived or been
 * lost (delay below a tick), no NLB command has reached its time limit, and
 * no isolated primary is still waiting to fence (the agent checks on every
 * tick). */
#define cmd_due(i) (a_cmd[i] != NOCMD && a_cmd_age[i] >= NLB_T)
#define fence_due(i) (a_mode[i] == PRIMARY && a_silence[i] >= ISO)
inline older(v, cap) {
    if
    :: v < cap -> v++
    :: else -> skip
    fi
}
proctype clock()
{
    do
    :: atomic { empty(to_agent[0]) && empty(to_agent[1]) && empty(to_coord[0]) &&
                empty(to_coord[1]) && !cmd_due(0) && !cmd_due(1) && !fence_due(0) &&
                !fence_due(1) ->
        older(c_silence[0], LOSS); older(c_silence[1], LOSS);
        older(a_silence[0], ISO); older(a_silence[1], ISO);
        if
        :: a_cmd[0] != NOCMD -> a_cmd_age[0]++
        :: else -> skip
        fi;
        if
        :: a_cmd[1] != NOCMD -> a_cmd_age[1]++
        :: else -> skip
        fi }
    od
}


init
{
    atomic {
        /* Safe start: each agent disables its port first. */
        a_cmd[0] = DIS; a_cmd[1] = DIS;
        run agent(0); run agent(1); run coordinator(); run clock()
    }
}
