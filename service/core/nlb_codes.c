/* nlb_codes.c - NLB's codes and choices in words; see nlb_codes.h. */
#include "nlb_codes.h"

#include <stdio.h>
#include <string.h>

#include "model.h"

/* ---- WLBS return codes ------------------------------------------------------ */

struct wlbs_entry {
    uint32_t code;
    const char *name;
    /* The sentence; for NOT_FOUND it is built in nlb_codes_wlbs_text. */
    const char *text;
};

static const struct wlbs_entry wlbs_table[] = {
    {NLB_WLBS_OK, "WLBS_OK", "NLB carried out the operation"},
    {NLB_WLBS_ALREADY, "WLBS_ALREADY", "the port rule was already in the requested state"},
    {NLB_WLBS_DRAIN_STOP, "WLBS_DRAIN_STOP",
     "NLB is being drain-stopped on this host, so its port rules cannot be changed: "
     "wait until it has stopped, then start it (nlb start or Start-NlbClusterNode)"},
    {NLB_WLBS_BAD_PARAMS, "WLBS_BAD_PARAMS",
     "bad NLB parameters in this host's configuration keep NLB from starting cluster "
     "operations: correct the cluster and host settings in NLB Manager"},
    {NLB_WLBS_NOT_FOUND, "WLBS_NOT_FOUND", NULL},
    {NLB_WLBS_STOPPED, "WLBS_STOPPED",
     "NLB is stopped on this host, and port rules can only be changed on a running host: "
     "start it (nlb start or Start-NlbClusterNode)"},
    {NLB_WLBS_CONVERGING, "WLBS_CONVERGING",
     "the NLB cluster is converging: the operation is retried once it has converged"},
    {NLB_WLBS_CONVERGED, "WLBS_CONVERGED",
     "NLB answered with a cluster state (converged) instead of a result: check this host "
     "with nlb query"},
    {NLB_WLBS_DEFAULT, "WLBS_DEFAULT",
     "NLB answered with a cluster state (converged as the default host) instead of a result: "
     "check this host with nlb query"},
    {NLB_WLBS_DRAINING, "WLBS_DRAINING",
     "NLB is draining on this host (a drainstop is in progress), so its port rules cannot be "
     "changed: wait until it has stopped, then start it (nlb start or Start-NlbClusterNode)"},
    {NLB_WLBS_SUSPENDED, "WLBS_SUSPENDED",
     "NLB is suspended on this host: resume it (nlb resume or Resume-NlbClusterNode), then "
     "start it (nlb start or Start-NlbClusterNode)"},
    {NLB_WLBS_MEDIA_DISCONNECTED, "WLBS_MEDIA_DISCONNECTED",
     "the network cable is unplugged on this host's NLB adapter: reconnect it"},
    {NLB_WLBS_REBOOT, "WLBS_REBOOT",
     "this host must be restarted before NLB's configuration changes take effect"},
    {NLB_WLBS_INIT_ERROR, "WLBS_INIT_ERROR",
     "an internal error kept NLB's control module from starting: see the System event log "
     "for NLB errors and restart the host if they persist"},
    {NLB_WLBS_BAD_PASSW, "WLBS_BAD_PASSW",
     "the NLB cluster refused the remote control password: nlbctld controls the local host "
     "only; check that the cluster IP names a cluster on this host"},
    {NLB_WLBS_IO_ERROR, "WLBS_IO_ERROR",
     "a local I/O error kept NLB's driver from being reached: check that Network Load "
     "Balancing is bound to the adapter and see the System event log"},
    {NLB_WLBS_TIMEOUT, "WLBS_TIMEOUT",
     "NLB did not answer in time: the operation is retried; check the host with nlb query"},
    {NLB_WLBS_PORT_OVERLAP, "WLBS_PORT_OVERLAP",
     "this host's NLB port rules overlap (a port is in more than one rule): correct them in "
     "NLB Manager"},
    {NLB_WLBS_BAD_PORT_PARAMS, "WLBS_BAD_PORT_PARAMS",
     "an NLB port rule has invalid settings: correct it in NLB Manager"},
    {NLB_WLBS_MAX_PORT_RULES, "WLBS_MAX_PORT_RULES",
     "the NLB cluster already has the maximum number of port rules: remove one in NLB Manager"},
    {NLB_WLBS_TRUNCATED, "WLBS_TRUNCATED",
     "NLB truncated its answer: check the port rules in NLB Manager"},
    {NLB_WLBS_REG_ERROR, "WLBS_REG_ERROR",
     "NLB could not read or write its settings in the registry: see the System event log "
     "and check the NLB configuration in NLB Manager"},
};

#define WLBS_COUNT (sizeof wlbs_table / sizeof wlbs_table[0])

static const struct wlbs_entry *wlbs_find(uint32_t code)
{
    for (size_t i = 0; i < WLBS_COUNT; i++)
        if (wlbs_table[i].code == code)
            return &wlbs_table[i];
    return NULL;
}

const char *nlb_codes_wlbs_name(uint32_t code)
{
    const struct wlbs_entry *e = wlbs_find(code);
    return e ? e->name : NULL;
}

int nlb_codes_wlbs_ok(uint32_t code) { return code == NLB_WLBS_OK || code == NLB_WLBS_ALREADY; }

/* " (VIP 192.0.2.10)" or "" */
static void vip_part(const char *vip, char *out, size_t cap)
{
    if (vip && vip[0])
        snprintf(out, cap, " (VIP %s)", vip);
    else if (cap > 0)
        out[0] = '\0';
}

const char *nlb_codes_wlbs_text(uint32_t code, unsigned port, const char *vip, char *buf,
                                size_t cap)
{
    if (cap == 0)
        return buf;
    const struct wlbs_entry *e = wlbs_find(code);
    if (!e) {
        snprintf(buf, cap, "NLB returned the unknown code %lu: check the host with nlb query",
                 (unsigned long)code);
        return buf;
    }
    if (code == NLB_WLBS_NOT_FOUND) {
        char v[MODEL_NAME_MAX + 16];
        vip_part(vip, v, sizeof v);
        snprintf(buf, cap,
                 "no port rule contains port %u%s on this host: add one in NLB Manager "
                 "(Add-NlbClusterPortRule) on every host, or correct [nlb] port and vip (%s, %lu)",
                 port, v, e->name, (unsigned long)code);
        return buf;
    }
    snprintf(buf, cap, "%s (%s, %lu)", e->text, e->name, (unsigned long)code);
    return buf;
}

/* ---- HRESULTs ------------------------------------------------------------------ */

struct hr_entry {
    uint32_t hr;
    const char *text;
};

static const struct hr_entry hr_table[] = {
    {NLB_HR_WBEM_E_FAILED, "WMI reported a general failure"},
    {NLB_HR_WBEM_E_NOT_FOUND,
     "the WMI object was not found (for NLB: the node or port rule is gone, the cluster may "
     "have been reconfigured)"},
    {NLB_HR_WBEM_E_ACCESS_DENIED,
     "access denied by WMI: run nlbctld as LocalSystem or as an administrator"},
    {NLB_HR_WBEM_E_PROVIDER_FAILURE,
     "the WMI provider failed (for NLB: see the System and Application event logs)"},
    {NLB_HR_WBEM_E_TYPE_MISMATCH, "a WMI value has the wrong type"},
    {NLB_HR_WBEM_E_OUT_OF_MEMORY, "WMI ran out of memory"},
    {NLB_HR_WBEM_E_INVALID_PARAMETER, "WMI refused a parameter as invalid"},
    {NLB_HR_WBEM_E_NOT_SUPPORTED, "the WMI provider does not support this operation"},
    {NLB_HR_WBEM_E_INVALID_CLASS,
     "the WMI class does not exist (for NLB: the NLB WMI provider is missing or older than "
     "Windows Server 2008)"},
    {NLB_HR_WBEM_E_PROVIDER_NOT_FOUND,
     "the WMI provider is not registered (for NLB: repair or reinstall the Network Load "
     "Balancing feature)"},
    {NLB_HR_WBEM_E_PROVIDER_LOAD_FAILURE,
     "the WMI provider could not be loaded (for NLB: repair or reinstall the Network Load "
     "Balancing feature)"},
    {NLB_HR_WBEM_E_TRANSPORT_FAILURE, "the connection to the WMI service failed"},
    {NLB_HR_WBEM_E_INVALID_QUERY, "the WMI query is not valid WQL"},
    {NLB_HR_WBEM_E_INVALID_QUERY_TYPE, "the WMI query language is not supported"},
    {NLB_HR_WBEM_E_INVALID_SYNTAX, "the WMI query has a syntax error"},
    {NLB_HR_WBEM_E_INVALID_METHOD,
     "the WMI method does not exist (for NLB: EnableEx, DisableEx and DrainEx need Windows "
     "Server 2008 or later)"},
    {NLB_HR_WBEM_E_INVALID_METHOD_PARAMETERS, "the WMI method's parameters are not valid"},
    {NLB_HR_WBEM_E_CALL_CANCELLED, "the WMI call was cancelled"},
    {NLB_HR_WBEM_E_SHUTTING_DOWN, "the WMI service is shutting down"},
    {NLB_HR_WBEM_E_INVALID_OBJECT_PATH, "the WMI object path is not valid"},
    {NLB_HR_WBEM_E_PRIVILEGE_NOT_HELD,
     "a privilege WMI needs is not held: run nlbctld as LocalSystem or as an administrator"},
    {NLB_HR_WBEM_E_TIMED_OUT, "WMI timed out"},
    {NLB_HR_WBEM_E_QUOTA_VIOLATION, "WMI refused the call: its provider quota is exhausted"},
    {NLB_HR_RPC_E_CALL_REJECTED, "the WMI service is busy and rejected the call"},
    {NLB_HR_RPC_E_DISCONNECTED,
     "the connection to the WMI service was lost (was it restarted?): nlbctld reconnects"},
    {NLB_HR_RPC_E_TIMEOUT, "the call to the WMI service timed out"},
    {NLB_HR_RPC_S_SERVER_UNAVAILABLE,
     "the WMI service is not available: start Windows Management Instrumentation (winmgmt)"},
    {NLB_HR_CO_E_NOTINITIALIZED, "internal: COM is not initialised on this thread"},
    {NLB_HR_REGDB_E_CLASSNOTREG,
     "the WMI locator is not registered: Windows Management Instrumentation is damaged"},
    {NLB_HR_E_ACCESSDENIED,
     "access denied (E_ACCESSDENIED): run nlbctld as LocalSystem or as an administrator"},
    {NLB_HR_E_OUTOFMEMORY, "out of memory"},
    {NLB_HR_E_INVALIDARG, "an argument to a WMI call was not valid"},
};

#define HR_COUNT (sizeof hr_table / sizeof hr_table[0])

/* Case-insensitive ASCII comparison: WMI namespace names are. */
static int same_ns(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca == '/')
            ca = '\\';
        if (cb == '/')
            cb = '\\';
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

const char *nlb_codes_hresult_text(uint32_t hr, const char *ns, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    if (hr == NLB_HR_WBEM_E_INVALID_NAMESPACE) {
        if (ns == NULL || same_ns(ns, NLB_CODES_NAMESPACE))
            snprintf(buf, cap,
                     "NLB is not installed on this host (the root\\MicrosoftNLB WMI namespace "
                     "does not exist): install the Network Load Balancing feature, or choose "
                     "another [nlb] backend");
        else
            snprintf(buf, cap, "the WMI namespace %s does not exist on this host", ns);
        return buf;
    }
    for (size_t i = 0; i < HR_COUNT; i++) {
        if (hr_table[i].hr == hr) {
            snprintf(buf, cap, "%s", hr_table[i].text);
            return buf;
        }
    }
    snprintf(buf, cap, "WMI error 0x%08lX", (unsigned long)hr);
    return buf;
}

/* ---- port state and methods ------------------------------------------------- */

int nlb_codes_port_state(uint32_t port_state, unsigned port, const char *vip, uint8_t *state,
                         char *err, size_t cap)
{
    char v[MODEL_NAME_MAX + 16];
    vip_part(vip, v, sizeof v);
    *state = MODEL_PORT_UNKNOWN;
    switch (port_state) {
    case 1:
        *state = MODEL_PORT_ENABLED;
        return 0;
    case 2:
        *state = MODEL_PORT_DISABLED;
        return 0;
    case 3:
        *state = MODEL_PORT_DRAINING;
        return 0;
    case 0:
        snprintf(err, cap,
                 "no port rule for port %u%s is active on this host (NLB reports PortState 0, "
                 "not found): check that NLB is started and the rule exists (nlb queryport)",
                 port, v);
        return -1;
    default:
        snprintf(err, cap, "NLB reports the unknown PortState %lu for port %u%s",
                 (unsigned long)port_state, port, v);
        return -1;
    }
}

int nlb_codes_host_out_of_cluster(uint32_t code)
{
    return code == NLB_WLBS_STOPPED || code == NLB_WLBS_SUSPENDED ||
           code == NLB_WLBS_MEDIA_DISCONNECTED;
}

const char *nlb_codes_method(uint8_t state)
{
    switch (state) {
    case MODEL_PORT_ENABLED:
        return "EnableEx";
    case MODEL_PORT_DISABLED:
        return "DisableEx";
    case MODEL_PORT_DRAINING:
        return "DrainEx";
    default:
        return NULL;
    }
}

/* ---- which instance ------------------------------------------------------------- */

/* name begins with "<cluster_ip>:" */
static int in_cluster(const char *name, const char *cluster_ip)
{
    size_t n = strlen(cluster_ip);
    return n > 0 && strncmp(name, cluster_ip, n) == 0 && name[n] == ':';
}

int nlb_codes_pick_node(const char *const *names, size_t count, const char *cluster_ip)
{
    if (!names || !cluster_ip || !cluster_ip[0])
        return -1;
    for (size_t i = 0; i < count; i++)
        if (names[i] && in_cluster(names[i], cluster_ip))
            return (int)i;
    return -1;
}

const char *nlb_codes_no_node_text(const char *const *names, size_t count,
                                   const char *cluster_ip, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    char found[256] = "";
    size_t used = 0;
    for (size_t i = 0; names && i < count && used < sizeof found; i++) {
        if (!names[i])
            continue;
        int n = snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "", names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, cap,
                 "NLB on this host has no cluster %s (it reports no MicrosoftNLB_Node "
                 "instance): create or join the cluster in NLB Manager",
                 cluster_ip ? cluster_ip : "");
    else
        snprintf(buf, cap,
                 "NLB on this host has no cluster %s (its nodes: %s): set [nlb] cluster_ip to "
                 "the cluster's IP address",
                 cluster_ip ? cluster_ip : "", found);
    return buf;
}

int nlb_codes_rule_query(unsigned port, char *buf, size_t cap)
{
    if (cap == 0)
        return -1;
    int n = snprintf(buf, cap,
                     "SELECT * FROM MicrosoftNLB_PortRuleEx WHERE StartPort <= %u AND EndPort >= %u",
                     port, port);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

int nlb_codes_pick_rule(const char *const *names, const char *const *vips, size_t count,
                        const char *cluster_ip, const char *vip)
{
    if (!vips || !vip)
        return -1;
    int restrict_to_cluster = 0;
    if (names && cluster_ip && cluster_ip[0])
        for (size_t i = 0; i < count; i++)
            if (names[i] && in_cluster(names[i], cluster_ip))
                restrict_to_cluster = 1;
    int all_vips = -1;
    for (size_t i = 0; i < count; i++) {
        if (!vips[i])
            continue;
        if (restrict_to_cluster && !(names[i] && in_cluster(names[i], cluster_ip)))
            continue;
        if (strcmp(vips[i], vip) == 0)
            return (int)i;
        if (all_vips < 0 && strcmp(vips[i], NLB_CODES_ALL_VIPS) == 0)
            all_vips = (int)i;
    }
    return all_vips;
}

int nlb_codes_protocol_countable(uint32_t protocol)
{
    return protocol == NLB_PROTOCOL_TCP || protocol == NLB_PROTOCOL_BOTH;
}

int nlb_codes_tcp_state_counts(uint32_t mib_state)
{
    return mib_state >= 4 && mib_state <= 10;
}

int nlb_codes_parse_ipv4(const char *text, uint8_t out[4])
{
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (unsigned)(*p++ - '0');
            if (++digits > 3 || v > 255)
                return -1;
        }
        out[i] = (uint8_t)v;
        if (i < 3 && *p++ != '.')
            return -1;
    }
    return *p == '\0' ? 0 : -1;
}
