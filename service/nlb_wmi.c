/* nlb_wmi.c - the wmi NLB backend: drives this host's NLB port rule through
 * the NLB WMI provider (root\MicrosoftNLB), as NLB.md describes.
 *
 *   open:  connect root\MicrosoftNLB (missing: "NLB is not installed on this
 *          host ..."), enable SeLoadDriverPrivilege (best effort, as
 *          Microsoft's samples do), pick the MicrosoftNLB_Node instance whose
 *          Name begins with "<cluster IP>:" ([nlb] cluster_ip, or vip).
 *   set:   EnableEx / DisableEx / DrainEx(VirtualIpAddress = vip, Port = port)
 *          on that instance's __RELPATH; ReturnValue through nlb_codes
 *          (WLBS_OK and WLBS_ALREADY are success).
 *   query: MicrosoftNLB_PortRuleEx rules containing the port, the one for
 *          vip (else the all-VIPs rule), its PortState; also its Protocol
 *          and port range, kept for connections.
 *   connections (while the rule drains): NLB exposes no connection count
 *          (no WMI property, no method), so this host's own TCP table
 *          (GetExtendedTcpTable, IPv4) is counted: connections whose local
 *          address is the VIP (any, for an all-VIPs rule) and local port in
 *          the rule's range, from SYN_RCVD to LAST_ACK. A UDP rule has no
 *          connections to count: unknown, and the drain runs its full
 *          drain_ms. A "both" rule counts its TCP side (nlb_codes.h says
 *          why). Unknown too for an IPv6 VIP or a rule not read yet.
 *
 * A lost WMI connection (the WMI service restarted) or a node instance that
 * is gone (host priority changed) costs one reconnect and one retry; the
 * port commands are idempotent, so a retry is safe.
 *
 * Runs on the NLB worker thread, which has called CoInitializeEx. */
/* winsock2.h before windows.h (wmi_client.h), for iphlpapi.h. */
#include <winsock2.h>
#include <iphlpapi.h>

#include "wmi_client.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nlb_backend.h"
#include "nlb_codes.h"
#include "winutil.h"

#define NODES_MAX 32
#define RULES_MAX 64
#define NAME_MAX_LEN 128
#define PATH_MAX_LEN 512
#define WMI_ERR_MAX 768

struct nlb_wmi {
    struct wmi *wmi;
    char vip[MODEL_NAME_MAX + 1];
    char cluster_ip[MODEL_NAME_MAX + 1];
    unsigned port;
    /* The rule as last read (query): what connections needs. */
    int rule_read;          /* 0 until a query found the rule */
    uint32_t rule_protocol; /* MicrosoftNLB_PortRuleEx.Protocol */
    unsigned rule_start, rule_end;
    int rule_all_vips;      /* the rule is the all-VIPs one */
    char node_name[NAME_MAX_LEN];
    char node_path[PATH_MAX_LEN];
    char description[MODEL_NAME_MAX * 2 + NAME_MAX_LEN + 64];
};

/* ---- helpers ---------------------------------------------------------------- */

/* SeLoadDriverPrivilege on the process token, as Microsoft's NLB samples do.
 * Failing to enable it is not an error: LocalSystem and administrators have
 * it, and the provider says so itself if it is really missing. */
static void enable_load_driver_privilege(void)
{
    HANDLE token = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
        return;
    TOKEN_PRIVILEGES tp;
    memset(&tp, 0, sizeof tp);
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (LookupPrivilegeValueW(NULL, SE_LOAD_DRIVER_NAME, &tp.Privileges[0].Luid))
        AdjustTokenPrivileges(token, FALSE, &tp, sizeof tp, NULL, NULL);
    CloseHandle(token);
}

/* Errors worth one reconnect and retry: the connection to WMI is gone, or
 * the node instance's path no longer names one. */
static int worth_retry(HRESULT hr)
{
    switch ((uint32_t)hr) {
    case NLB_HR_RPC_E_DISCONNECTED:
    case NLB_HR_RPC_S_SERVER_UNAVAILABLE:
    case 0x80010007u: /* RPC_E_SERVER_DIED */
    case 0x80010012u: /* RPC_E_SERVER_DIED_DNE */
    case NLB_HR_WBEM_E_TRANSPORT_FAILURE:
    case NLB_HR_WBEM_E_NOT_FOUND:
    case NLB_HR_WBEM_E_INVALID_OBJECT_PATH:
        return 1;
    default:
        return 0;
    }
}

/* When the provider put a WLBS_* code in __ExtendedStatus, its sentence
 * replaces WMI's. */
static void prefer_wlbs_status(const struct nlb_wmi *n, const char *what, char *err, size_t cap)
{
    uint32_t status = wmi_last_status(n->wmi, NULL, 0);
    if (status == 0 || nlb_codes_wlbs_name(status) == NULL || nlb_codes_wlbs_ok(status))
        return;
    char text[384];
    nlb_codes_wlbs_text(status, n->port, n->vip, text, sizeof text);
    snprintf(err, cap, "%s: %s", what, text);
}

/* Finds this host's node instance of the cluster: node_name, node_path. */
struct node_rows {
    char names[NODES_MAX][NAME_MAX_LEN];
    char paths[NODES_MAX][PATH_MAX_LEN];
};

static HRESULT find_node(struct nlb_wmi *n, char *err, size_t cap)
{
    const char *name_ptrs[NODES_MAX];
    IEnumWbemClassObject *rows = NULL;
    size_t count = 0;
    char why[WMI_ERR_MAX];

    struct node_rows *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, cap, "out of memory");
        return E_OUTOFMEMORY;
    }
    char (*names)[NAME_MAX_LEN] = r->names;
    char (*paths)[PATH_MAX_LEN] = r->paths;
    HRESULT hr = wmi_query(n->wmi, NLB_CODES_NODE_QUERY, &rows, why, sizeof why);
    if (FAILED(hr)) {
        snprintf(err, cap, "cannot list this host's NLB nodes: %s", why);
        free(r);
        return hr;
    }
    for (;;) {
        IWbemClassObject *obj = NULL;
        hr = wmi_next(n->wmi, rows, &obj, why, sizeof why);
        if (FAILED(hr)) {
            snprintf(err, cap, "cannot list this host's NLB nodes: %s", why);
            goto done;
        }
        if (hr == S_FALSE)
            break;
        if (count < NODES_MAX) {
            name_ptrs[count] = NULL;
            if (wmi_get_string(obj, "Name", names[count], NAME_MAX_LEN, why, sizeof why) == S_OK &&
                wmi_get_relpath(obj, paths[count], PATH_MAX_LEN, why, sizeof why) == S_OK)
                name_ptrs[count] = names[count];
            count++;
        }
        IWbemClassObject_Release(obj);
    }
    int i = nlb_codes_pick_node(name_ptrs, count, n->cluster_ip);
    if (i < 0) {
        nlb_codes_no_node_text(name_ptrs, count, n->cluster_ip, err, cap);
        hr = WBEM_E_NOT_FOUND;
        goto done;
    }
    utf8_copy(n->node_name, sizeof n->node_name, names[i]);
    utf8_copy(n->node_path, sizeof n->node_path, paths[i]);
    snprintf(n->description, sizeof n->description, "wmi %s:%u on cluster %s (node %s)", n->vip,
             n->port, n->cluster_ip, n->node_name);
    hr = S_OK;
done:
    IEnumWbemClassObject_Release(rows);
    free(r);
    return hr;
}

/* Connects (again) and finds the node. */
static HRESULT connect_node(struct nlb_wmi *n, char *err, size_t cap)
{
    char why[WMI_ERR_MAX];
    wmi_close(n->wmi);
    n->wmi = NULL;
    HRESULT hr = wmi_connect(NLB_CODES_NAMESPACE, &n->wmi, why, sizeof why);
    if (FAILED(hr)) {
        n->wmi = NULL;
        if (hr == (HRESULT)WBEM_E_INVALID_NAMESPACE)
            nlb_codes_hresult_text((uint32_t)hr, NLB_CODES_NAMESPACE, err, cap);
        else
            snprintf(err, cap, "%s", why);
        return hr;
    }
    return find_node(n, err, cap);
}

/* ---- the backend ---------------------------------------------------------------- */

static const char *verb_of(uint8_t state)
{
    switch (state) {
    case MODEL_PORT_ENABLED:
        return "enable";
    case MODEL_PORT_DISABLED:
        return "disable";
    default:
        return "drain";
    }
}

static HRESULT try_set(struct nlb_wmi *n, const char *method, uint32_t *rv, char *err, size_t cap)
{
    const struct wmi_arg args[] = {
        {NLB_CODES_PARAM_VIP, WMI_ARG_STRING, n->vip, 0},
        {NLB_CODES_PARAM_PORT, WMI_ARG_UINT32, NULL, n->port},
    };
    return wmi_call(n->wmi, n->node_path, method, args, sizeof args / sizeof args[0], rv, NULL,
                    err, cap);
}

static int wmi_set(void *impl, uint8_t state, char *err, size_t cap)
{
    struct nlb_wmi *n = impl;
    const char *method = nlb_codes_method(state);
    if (!method) {
        snprintf(err, cap, "internal: cannot set port state %u", state);
        return -1;
    }
    char what[160];
    snprintf(what, sizeof what, "cannot %s port %u (VIP %s) with NLB's %s", verb_of(state),
             n->port, n->vip, method);
    char why[WMI_ERR_MAX];
    uint32_t rv = 0;
    HRESULT hr = n->wmi ? try_set(n, method, &rv, why, sizeof why) : (HRESULT)RPC_E_DISCONNECTED;
    if (FAILED(hr) && worth_retry(hr)) {
        hr = connect_node(n, why, sizeof why);
        if (SUCCEEDED(hr))
            hr = try_set(n, method, &rv, why, sizeof why);
    }
    if (FAILED(hr)) {
        snprintf(err, cap, "%s: %s", what, why);
        if (n->wmi)
            prefer_wlbs_status(n, what, err, cap);
        return -1;
    }
    if (!nlb_codes_wlbs_ok(rv)) {
        nlb_codes_wlbs_text(rv, n->port, n->vip, why, sizeof why);
        snprintf(err, cap, "%s: %s", what, why);
        return -1;
    }
    return 0;
}

struct rule_rows {
    char names[RULES_MAX][NAME_MAX_LEN];
    char vips[RULES_MAX][MODEL_NAME_MAX + 1];
    uint32_t states[RULES_MAX];
    int state_ok[RULES_MAX];
    uint32_t protocols[RULES_MAX]; /* 0 when unreadable */
    uint32_t starts[RULES_MAX], ends[RULES_MAX];
    const char *name_ptrs[RULES_MAX];
    const char *vip_ptrs[RULES_MAX];
    size_t count;
};

static HRESULT read_rules(struct nlb_wmi *n, const char *wql, struct rule_rows *r, char *err,
                          size_t cap)
{
    IEnumWbemClassObject *rows = NULL;
    char why[WMI_ERR_MAX];
    r->count = 0;
    HRESULT hr = wmi_query(n->wmi, wql, &rows, err, cap);
    if (FAILED(hr))
        return hr;
    for (;;) {
        IWbemClassObject *obj = NULL;
        hr = wmi_next(n->wmi, rows, &obj, err, cap);
        if (FAILED(hr))
            break;
        if (hr == S_FALSE) {
            hr = S_OK;
            break;
        }
        if (r->count < RULES_MAX) {
            size_t i = r->count++;
            r->name_ptrs[i] = NULL;
            r->vip_ptrs[i] = NULL;
            if (wmi_get_string(obj, "Name", r->names[i], NAME_MAX_LEN, why, sizeof why) == S_OK)
                r->name_ptrs[i] = r->names[i];
            if (wmi_get_string(obj, "VirtualIpAddress", r->vips[i], sizeof r->vips[i], why,
                               sizeof why) == S_OK)
                r->vip_ptrs[i] = r->vips[i];
            r->state_ok[i] = wmi_get_uint32(obj, "PortState", &r->states[i], why, sizeof why) == S_OK;
            if (wmi_get_uint32(obj, "Protocol", &r->protocols[i], why, sizeof why) != S_OK)
                r->protocols[i] = 0;
            if (wmi_get_uint32(obj, "StartPort", &r->starts[i], why, sizeof why) != S_OK ||
                wmi_get_uint32(obj, "EndPort", &r->ends[i], why, sizeof why) != S_OK ||
                r->starts[i] > r->ends[i] || r->ends[i] > 65535)
                r->starts[i] = r->ends[i] = n->port; /* at least the port itself */
        }
        IWbemClassObject_Release(obj);
    }
    IEnumWbemClassObject_Release(rows);
    return hr;
}

/* This host's MicrosoftNLB_Node.StatusCode (the node found at connect). */
static HRESULT read_node_status(struct nlb_wmi *n, uint32_t *status, char *err, size_t cap)
{
    IEnumWbemClassObject *rows = NULL;
    HRESULT hr = wmi_query(n->wmi, NLB_CODES_NODE_QUERY, &rows, err, cap);
    if (FAILED(hr))
        return hr;
    int found = 0;
    for (;;) {
        IWbemClassObject *obj = NULL;
        hr = wmi_next(n->wmi, rows, &obj, err, cap);
        if (hr != S_OK)
            break;
        char name[NAME_MAX_LEN], why[WMI_ERR_MAX];
        if (!found && wmi_get_string(obj, "Name", name, sizeof name, why, sizeof why) == S_OK &&
            strcmp(name, n->node_name) == 0)
            found = wmi_get_uint32(obj, "StatusCode", status, err, cap) == S_OK;
        IWbemClassObject_Release(obj);
    }
    IEnumWbemClassObject_Release(rows);
    if (FAILED(hr))
        return hr;
    if (!found) {
        snprintf(err, cap, "node %s has no readable StatusCode", n->node_name);
        return WBEM_E_NOT_FOUND;
    }
    return S_OK;
}

/* W4: a host out of the cluster gets no VIP traffic whatever its rule says,
 * and NLB refuses or ignores commands for the rule; say so rather than
 * report a rule state nobody can change. A status that cannot be read
 * leaves the rule's own state (it is logged by the caller's next error). */
static int host_disconnected(struct nlb_wmi *n)
{
    uint32_t status = 0;
    char why[WMI_ERR_MAX];
    return n->wmi && read_node_status(n, &status, why, sizeof why) == S_OK &&
           nlb_codes_host_out_of_cluster(status);
}

static int wmi_query_state(void *impl, uint8_t *state, char *err, size_t cap)
{
    struct nlb_wmi *n = impl;
    *state = MODEL_PORT_UNKNOWN;
    n->rule_read = 0;
    char wql[128];
    nlb_codes_rule_query(n->port, wql, sizeof wql);
    struct rule_rows *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    char why[WMI_ERR_MAX];
    int rc = -1;
    HRESULT hr = n->wmi ? read_rules(n, wql, r, why, sizeof why) : (HRESULT)RPC_E_DISCONNECTED;
    if (FAILED(hr) && worth_retry(hr)) {
        hr = connect_node(n, why, sizeof why);
        if (SUCCEEDED(hr))
            hr = read_rules(n, wql, r, why, sizeof why);
    }
    if (FAILED(hr)) {
        snprintf(err, cap, "cannot read the NLB port rule for port %u (VIP %s): %s", n->port,
                 n->vip, why);
        goto done;
    }
    int i = nlb_codes_pick_rule(r->name_ptrs, r->vip_ptrs, r->count, n->cluster_ip, n->vip);
    if (i < 0) {
        nlb_codes_wlbs_text(NLB_WLBS_NOT_FOUND, n->port, n->vip, err, cap);
        goto done;
    }
    n->rule_read = 1;
    n->rule_protocol = r->protocols[i];
    n->rule_start = r->starts[i];
    n->rule_end = r->ends[i];
    n->rule_all_vips = strcmp(r->vips[i], NLB_CODES_ALL_VIPS) == 0;
    if (!r->state_ok[i]) {
        snprintf(err, cap, "NLB's port rule for port %u (VIP %s) has no readable PortState",
                 n->port, n->vip);
        goto done;
    }
    rc = nlb_codes_port_state(r->states[i], n->port, n->vip, state, err, cap);
done:
    free(r);
    if (host_disconnected(n)) {
        *state = MODEL_PORT_DISCONNECTED;
        return 0;
    }
    return rc;
}

int nlb_wmi_count_tcp(const char *vip, unsigned start_port, unsigned end_port, uint32_t *count,
                      char *err, size_t cap)
{
    *count = NLB_CONNECTIONS_UNKNOWN;
    uint8_t want[4] = {0, 0, 0, 0};
    if (vip && nlb_codes_parse_ipv4(vip, want) != 0)
        return 0; /* IPv6: not counted */
    MIB_TCPTABLE *table = NULL;
    DWORD size = 0, rc = ERROR_INSUFFICIENT_BUFFER;
    /* The table may grow between the size query and the read: a few tries. */
    for (int tries = 0; tries < 4 && rc == ERROR_INSUFFICIENT_BUFFER; tries++) {
        free(table);
        table = size ? malloc(size) : NULL;
        if (size && !table) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        rc = GetExtendedTcpTable(table, &size, FALSE, AF_INET, TCP_TABLE_BASIC_ALL, 0);
    }
    if (rc != NO_ERROR) {
        free(table);
        char why[256];
        snprintf(err, cap, "cannot read this host's TCP connections (GetExtendedTcpTable): %s",
                 win_error_text(rc, why, sizeof why));
        return -1;
    }
    uint32_t n = 0;
    for (DWORD i = 0; i < table->dwNumEntries; i++) {
        const MIB_TCPROW *row = &table->table[i];
        uint8_t local[4];
        memcpy(local, &row->dwLocalAddr, 4); /* network order in memory */
        unsigned port = ((row->dwLocalPort & 0xFFu) << 8) | ((row->dwLocalPort >> 8) & 0xFFu);
        if (nlb_codes_tcp_state_counts(row->dwState) && port >= start_port && port <= end_port &&
            (!vip || memcmp(local, want, 4) == 0))
            n++;
    }
    free(table);
    *count = n;
    return 0;
}

static int wmi_connections(void *impl, uint32_t *count, char *err, size_t cap)
{
    struct nlb_wmi *n = impl;
    *count = NLB_CONNECTIONS_UNKNOWN;
    if (!n->rule_read || !nlb_codes_protocol_countable(n->rule_protocol))
        return 0; /* a UDP rule: nothing to count, the drain runs full */
    return nlb_wmi_count_tcp(n->rule_all_vips ? NULL : n->vip, n->rule_start, n->rule_end, count,
                             err, cap);
}

static const char *wmi_describe(void *impl)
{
    const struct nlb_wmi *n = impl;
    return n->description;
}

static void wmi_close_backend(void *impl)
{
    struct nlb_wmi *n = impl;
    if (!n)
        return;
    wmi_close(n->wmi);
    free(n);
}

static const struct nlb_ops wmi_ops = {
    .set = wmi_set,
    .query = wmi_query_state,
    .connections = wmi_connections,
    .describe = wmi_describe,
    .close = wmi_close_backend,
};

void *nlb_wmi_open(const struct config *cfg, const char *node, const struct nlb_ops **ops,
                   char *err, size_t cap)
{
    (void)node; /* NLB knows its own host */
    struct nlb_wmi *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    utf8_copy(n->vip, sizeof n->vip, cfg->vip);
    utf8_copy(n->cluster_ip, sizeof n->cluster_ip, cfg->cluster_ip[0] ? cfg->cluster_ip : cfg->vip);
    n->port = cfg->port;
    snprintf(n->description, sizeof n->description, "wmi %s:%u on cluster %s", n->vip, n->port,
             n->cluster_ip);
    enable_load_driver_privilege();
    if (FAILED(connect_node(n, err, cap))) {
        wmi_close_backend(n);
        return NULL;
    }
    *ops = &wmi_ops;
    return n;
}
