/* nlb_codes.h - what Windows NLB's WMI provider says, in words an
 * administrator can act on: the WLBS_* return codes of the MicrosoftNLB_Node
 * methods, the WMI/COM HRESULTs met on the way, PortState, the method and
 * parameter names per desired state, which MicrosoftNLB_Node instance to
 * drive and which MicrosoftNLB_PortRuleEx instance to read.
 *
 * Portable C, no Windows headers: HRESULTs travel as uint32_t, so all of
 * this is unit-tested natively. The facts come from NLB.md (the NLB WMI
 * provider reference, "Standard Return Values"). */
#ifndef NLBCTL_NLB_CODES_H
#define NLBCTL_NLB_CODES_H

#include <stddef.h>
#include <stdint.h>

/* The namespace, classes and names the wmi backend uses. */
#define NLB_CODES_NAMESPACE "root\\MicrosoftNLB"
#define NLB_CODES_NODE_QUERY "SELECT * FROM MicrosoftNLB_Node"
#define NLB_CODES_PARAM_VIP "VirtualIpAddress" /* string */
#define NLB_CODES_PARAM_PORT "Port"            /* uint32, travels as VT_I4 */
#define NLB_CODES_RETURN_VALUE "ReturnValue"
#define NLB_CODES_ALL_VIPS "255.255.255.255"   /* the "all VIPs" port rules */

/* WLBS_* return codes (MicrosoftNLB_Node methods' ReturnValue). */
enum nlb_wlbs {
    NLB_WLBS_OK = 1000,
    NLB_WLBS_ALREADY = 1001,
    NLB_WLBS_DRAIN_STOP = 1002,
    NLB_WLBS_BAD_PARAMS = 1003,
    NLB_WLBS_NOT_FOUND = 1004,
    NLB_WLBS_STOPPED = 1005,
    NLB_WLBS_CONVERGING = 1006,
    NLB_WLBS_CONVERGED = 1007,
    NLB_WLBS_DEFAULT = 1008,
    NLB_WLBS_DRAINING = 1009,
    NLB_WLBS_SUSPENDED = 1013,
    NLB_WLBS_MEDIA_DISCONNECTED = 1014,
    NLB_WLBS_REBOOT = 1050,
    NLB_WLBS_INIT_ERROR = 1100,
    NLB_WLBS_BAD_PASSW = 1101,
    NLB_WLBS_IO_ERROR = 1102,
    NLB_WLBS_TIMEOUT = 1103,
    NLB_WLBS_PORT_OVERLAP = 1150,
    NLB_WLBS_BAD_PORT_PARAMS = 1151,
    NLB_WLBS_MAX_PORT_RULES = 1152,
    NLB_WLBS_TRUNCATED = 1153,
    NLB_WLBS_REG_ERROR = 1154
};

/* HRESULTs with a sentence of their own (values as in wbemcli.h/winerror.h). */
#define NLB_HR_WBEM_E_FAILED 0x80041001u
#define NLB_HR_WBEM_E_NOT_FOUND 0x80041002u
#define NLB_HR_WBEM_E_ACCESS_DENIED 0x80041003u
#define NLB_HR_WBEM_E_PROVIDER_FAILURE 0x80041004u
#define NLB_HR_WBEM_E_TYPE_MISMATCH 0x80041005u
#define NLB_HR_WBEM_E_OUT_OF_MEMORY 0x80041006u
#define NLB_HR_WBEM_E_INVALID_PARAMETER 0x80041008u
#define NLB_HR_WBEM_E_NOT_SUPPORTED 0x8004100Cu
#define NLB_HR_WBEM_E_INVALID_NAMESPACE 0x8004100Eu
#define NLB_HR_WBEM_E_INVALID_CLASS 0x80041010u
#define NLB_HR_WBEM_E_PROVIDER_NOT_FOUND 0x80041011u
#define NLB_HR_WBEM_E_PROVIDER_LOAD_FAILURE 0x80041013u
#define NLB_HR_WBEM_E_TRANSPORT_FAILURE 0x80041015u
#define NLB_HR_WBEM_E_INVALID_QUERY 0x80041017u
#define NLB_HR_WBEM_E_INVALID_QUERY_TYPE 0x80041018u
#define NLB_HR_WBEM_E_INVALID_SYNTAX 0x80041021u
#define NLB_HR_WBEM_E_INVALID_METHOD 0x8004102Eu
#define NLB_HR_WBEM_E_INVALID_METHOD_PARAMETERS 0x8004102Fu
#define NLB_HR_WBEM_E_CALL_CANCELLED 0x80041032u
#define NLB_HR_WBEM_E_SHUTTING_DOWN 0x80041033u
#define NLB_HR_WBEM_E_INVALID_OBJECT_PATH 0x8004103Au
#define NLB_HR_WBEM_E_PRIVILEGE_NOT_HELD 0x80041062u
#define NLB_HR_WBEM_E_TIMED_OUT 0x80041069u
#define NLB_HR_WBEM_E_QUOTA_VIOLATION 0x8004106Cu
#define NLB_HR_RPC_E_CALL_REJECTED 0x80010001u
#define NLB_HR_RPC_E_DISCONNECTED 0x80010108u
#define NLB_HR_RPC_E_TIMEOUT 0x8001011Fu
#define NLB_HR_RPC_S_SERVER_UNAVAILABLE 0x800706BAu /* HRESULT_FROM_WIN32(1722) */
#define NLB_HR_CO_E_NOTINITIALIZED 0x800401F0u
#define NLB_HR_REGDB_E_CLASSNOTREG 0x80040154u
#define NLB_HR_E_ACCESSDENIED 0x80070005u
#define NLB_HR_E_OUTOFMEMORY 0x8007000Eu
#define NLB_HR_E_INVALIDARG 0x80070057u

/* "WLBS_NOT_FOUND" for 1004; NULL for a code NLB does not define. */
const char *nlb_codes_wlbs_name(uint32_t code);

/* A sentence for a WLBS return code, saying what to do where there is
 * something to do, e.g. for 1004 "no port rule contains port 5060 (VIP
 * 192.0.2.10) on this host: ...". port and vip fill in the sentences that
 * name them (vip NULL or "" leaves it out). Unknown codes give "NLB returned
 * the unknown code N". Always writes a terminated string (cap > 0); returns buf. */
const char *nlb_codes_wlbs_text(uint32_t code, unsigned port, const char *vip, char *buf,
                                size_t cap);

/* 1 when a port method's ReturnValue means the rule is now in the requested
 * state: WLBS_OK and WLBS_ALREADY. Every other code is a failure. */
int nlb_codes_wlbs_ok(uint32_t code);

/* A sentence for a WMI/COM HRESULT, e.g. WBEM_E_ACCESS_DENIED -> "access
 * denied by WMI: ...". `ns` is the namespace the failing call was made in:
 * WBEM_E_INVALID_NAMESPACE on NLB's namespace (or ns NULL) is "NLB is not
 * installed on this host (the root\MicrosoftNLB WMI namespace does not
 * exist): ...", on any other "the WMI namespace <ns> does not exist on this
 * host". Unknown HRESULTs give "WMI error 0x8004XXXX". Returns buf. */
const char *nlb_codes_hresult_text(uint32_t hr, const char *ns, char *buf, size_t cap);

/* MicrosoftNLB_PortRuleEx.PortState (1 enabled, 2 disabled, 3 draining) ->
 * enum model_port in *state. 0 (not found) and unknown values: -1 with a
 * sentence in err naming port and vip ("no port rule for port 5060 (VIP
 * 192.0.2.10) is active on this host ..."); *state is then MODEL_PORT_UNKNOWN. */
int nlb_codes_port_state(uint32_t port_state, unsigned port, const char *vip, uint8_t *state,
                         char *err, size_t cap);

/* 1 when a MicrosoftNLB_Node.StatusCode (or a port method's ReturnValue)
 * says the host is out of the cluster and receives no VIP traffic, whatever
 * its port rules say: stopped, suspended, or its cluster adapter has no
 * link (media disconnected). The agent then reports its port
 * disconnected (not serving). */
int nlb_codes_host_out_of_cluster(uint32_t code);

/* The MicrosoftNLB_Node method that drives a rule to state (enum
 * model_port): "EnableEx", "DisableEx", "DrainEx"; NULL for any other. */
const char *nlb_codes_method(uint8_t state);

/* The node instance to drive: the first of names (MicrosoftNLB_Node.Name,
 * "<cluster IP>:<host priority>") that begins with "<cluster_ip>:" exactly
 * (192.0.2.1 does not match "192.0.2.10:1"). NULL entries are skipped.
 * Returns its index, or -1 (also for an empty cluster_ip). */
int nlb_codes_pick_node(const char *const *names, size_t count, const char *cluster_ip);

/* The sentence for "no node instance matched": names the cluster IP and
 * what was found ("NLB on this host has no cluster 192.0.2.10 (its nodes:
 * 198.51.100.5:1): set [nlb] cluster_ip ..."). Returns buf. */
const char *nlb_codes_no_node_text(const char *const *names, size_t count,
                                   const char *cluster_ip, char *buf, size_t cap);

/* The WQL for the rules that contain port:
 *   SELECT * FROM MicrosoftNLB_PortRuleEx WHERE StartPort <= 5060 AND EndPort >= 5060
 * 0, or -1 if it does not fit in cap (buf then holds ""). */
int nlb_codes_rule_query(unsigned port, char *buf, size_t cap);

/* Of the rules that query returned (their Name and VirtualIpAddress, NULL
 * entries skipped), the one for vip: rules whose Name begins with
 * "<cluster_ip>:" are considered alone when there are any (several clusters
 * on one host); among them the first whose VirtualIpAddress is vip exactly,
 * else the first "all VIPs" rule (255.255.255.255). Index, or -1. */
int nlb_codes_pick_rule(const char *const *names, const char *const *vips, size_t count,
                        const char *cluster_ip, const char *vip);

/* ---- connections left on a draining rule (issue #4) ----------------------------
 *
 * NLB itself exposes no connection count (no WMI property, no nlb.exe
 * output): the wmi backend counts this host's own TCP table instead. */

/* MicrosoftNLB_PortRuleEx.Protocol */
enum { NLB_PROTOCOL_TCP = 1, NLB_PROTOCOL_UDP = 2, NLB_PROTOCOL_BOTH = 3 };

/* Whether the TCP table can tell when a draining rule of this Protocol has
 * nothing left to drain: 1 for TCP and for both; 0 for UDP (no connections
 * to see) and anything unknown. "Both" counts its TCP side alone: NLB keeps
 * no UDP connection state (a drain does not hold UDP datagrams on the old
 * host; that is why the README recommends drain_ms = 0 for SIP over UDP),
 * so the TCP connections are all a drain protects. */
int nlb_codes_protocol_countable(uint32_t protocol);

/* Whether a TCP connection in this MIB_TCP_STATE is one a drain still
 * protects: from SYN_RCVD (4) to LAST_ACK (10), data may still flow. Not
 * LISTEN, TIME_WAIT (the connection is over), CLOSED or DELETE_TCB. */
int nlb_codes_tcp_state_counts(uint32_t mib_state);

/* Parses a dotted IPv4 address into its four bytes (network order). 0, or
 * -1 if text is not one (an IPv6 VIP: not counted, the drain runs full). */
int nlb_codes_parse_ipv4(const char *text, uint8_t out[4]);

#endif
