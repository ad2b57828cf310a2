/* wmi_client.h - WMI through COM, in C: connect to a namespace, run a WQL
 * query and read the instances' properties, call a class or instance
 * method with in-parameters and read its out-parameters.
 *
 * COM is the caller's: every thread that uses this module must have called
 * CoInitializeEx first (the NLB worker thread calls
 * CoInitializeEx(NULL, COINIT_MULTITHREADED) before it opens the backend,
 * and CoUninitialize after closing it). A connection, and everything it
 * returns, is used on the thread that made it. CoInitializeSecurity is
 * optional: without it each proxy made here is given impersonation level
 * "impersonate" with CoSetProxyBlanket, as the NLB provider needs.
 *
 * Every function returns an HRESULT: S_OK (S_FALSE where documented), or a
 * failure with one line in err saying what failed, on what, and why:
 *   "cannot connect to WMI namespace root\nosuch: the WMI namespace
 *    root\nosuch does not exist on this host (0x8004100E)"
 * The sentences for WMI's codes come from nlb_codes.
 *
 * Strings are UTF-8 in and out. Objects (IWbemClassObject) returned to the
 * caller are released with IWbemClassObject_Release; enumerators with
 * IEnumWbemClassObject_Release. Include this header before <windows.h>, or
 * define COBJMACROS before any COM header, for the C call macros. */
#ifndef NLBCTL_WMI_CLIENT_H
#define NLBCTL_WMI_CLIENT_H

#ifndef COBJMACROS
#define COBJMACROS
#endif

#include <stddef.h>
#include <stdint.h>
#include <windows.h>
#include <wbemidl.h>

struct wmi;

/* Connects to a namespace on this host, e.g. "root\\cimv2". */
HRESULT wmi_connect(const char *ns, struct wmi **out, char *err, size_t cap);
void wmi_close(struct wmi *wmi);
const char *wmi_namespace(const struct wmi *wmi);

/* WMI's __ExtendedStatus.StatusCode of the last failed call on this
 * connection, 0 when it gave none (the NLB provider puts WLBS_* codes
 * there); desc (may be NULL) gets its Description, or "". */
uint32_t wmi_last_status(const struct wmi *wmi, char *desc, size_t cap);

/* Starts a WQL query (forward-only, semi-synchronous). Errors in the query
 * may show here or at the first wmi_next. */
HRESULT wmi_query(struct wmi *wmi, const char *wql, IEnumWbemClassObject **rows, char *err,
                  size_t cap);
/* The next instance: S_OK with *obj set, S_FALSE with *obj NULL at the end,
 * or a failure. Waits as long as WMI takes. */
HRESULT wmi_next(struct wmi *wmi, IEnumWbemClassObject *rows, IWbemClassObject **obj, char *err,
                 size_t cap);

/* Reads a property as UTF-8 (numbers are converted to their text). S_FALSE
 * with out "" when the property is NULL. */
HRESULT wmi_get_string(IWbemClassObject *obj, const char *name, char *out, size_t cap, char *err,
                       size_t ecap);
/* Reads an integer property (uint32 travels as VT_I4; VT_UI4, smaller
 * integers and decimal strings are accepted). S_FALSE with *out 0 when the
 * property is NULL; a negative or too large value is WBEM_E_TYPE_MISMATCH. */
HRESULT wmi_get_uint32(IWbemClassObject *obj, const char *name, uint32_t *out, char *err,
                       size_t ecap);
/* The instance's __RELPATH, e.g. MicrosoftNLB_Node.Name="192.0.2.10:1". */
HRESULT wmi_get_relpath(IWbemClassObject *obj, char *out, size_t cap, char *err, size_t ecap);

/* An in-parameter of a method call. */
enum wmi_arg_type { WMI_ARG_STRING = 1, WMI_ARG_UINT32 = 2 /* sent as VT_I4 */ };
struct wmi_arg {
    const char *name;
    enum wmi_arg_type type;
    const char *s; /* WMI_ARG_STRING */
    uint32_t u;    /* WMI_ARG_UINT32 */
};

/* Calls method on path: a class name for a static method ("StdRegProv") or
 * an instance's __RELPATH for an instance method. The class is the part of
 * path before '.' or '='. Does GetObject(class), GetMethod, SpawnInstance,
 * Put of every argument, ExecMethod. return_value (may be NULL) gets the
 * out-parameter ReturnValue, which must then exist; out (may be NULL) gets
 * the out-parameters object to read others from (NULL if the method has
 * none). S_OK means the call ran: what it did is in ReturnValue. */
HRESULT wmi_call(struct wmi *wmi, const char *path, const char *method,
                 const struct wmi_arg *args, size_t nargs, uint32_t *return_value,
                 IWbemClassObject **out, char *err, size_t cap);

/* Writes an instance of cls (a static class of this namespace, e.g. one
 * compiled from a MOF) with these properties, creating or replacing the
 * instance with the same key (PutInstance, WBEM_FLAG_CREATE_OR_UPDATE).
 * Properties not given are NULL; uint64 and datetime values travel as
 * strings (WMI_ARG_STRING), as WMI wants them. */
HRESULT wmi_put_instance(struct wmi *wmi, const char *cls, const struct wmi_arg *props,
                         size_t nprops, char *err, size_t cap);

#endif
