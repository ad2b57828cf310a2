/* wmi_client.c - WMI through COM, in C; see wmi_client.h. */
#include "wmi_client.h"
#include "utf8.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "nlb_codes.h"

#define WMI_NS_MAX 256
#define WMI_CLASS_MAX 256
#define WMI_DESC_MAX 256

struct wmi {
    IWbemServices *svc;
    char ns[WMI_NS_MAX];
    uint32_t last_status;
    char last_desc[WMI_DESC_MAX];
};

/* ---- helpers ---------------------------------------------------------------- */

/* UTF-8 -> a new BSTR, or NULL (invalid UTF-8 or no memory). */
static BSTR bstr_from_utf8(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    BSTR b = SysAllocStringLen(NULL, (UINT)(n - 1));
    if (!b)
        return NULL;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, b, n) != n) {
        SysFreeString(b);
        return NULL;
    }
    return b;
}

/* The HRESULT for a string bstr_from_utf8 refused. */
static HRESULT utf8_failure(const char *s)
{
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0) <= 0
               ? E_INVALIDARG
               : E_OUTOFMEMORY;
}

/* UTF-16 -> UTF-8 into out; 0, or -1 if it does not fit (out then ""). */
static int utf8_from_wide(const wchar_t *w, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out, cap > INT_MAX ? INT_MAX : (int)cap, NULL,
                                NULL);
    if (n <= 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* err = "<what>: <sentence> (0x........)" */
static HRESULT fail(char *err, size_t cap, HRESULT hr, const char *ns, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static HRESULT fail(char *err, size_t cap, HRESULT hr, const char *ns, const char *fmt, ...)
{
    if (!err || cap == 0)
        return hr;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char why[256];
    nlb_codes_hresult_text((uint32_t)hr, ns, why, sizeof why);
    snprintf(err, cap, "%s: %s (0x%08lX)", what, why, (unsigned long)(uint32_t)hr);
    return hr;
}

/* Impersonation level "impersonate" on a proxy. An in-process object (Wine's
 * WMI) has no proxy to configure: that is not an error. */
static HRESULT set_blanket(IUnknown *proxy)
{
    HRESULT hr = CoSetProxyBlanket(proxy, RPC_C_AUTHN_WINNT, RPC_C_AUTHZ_NONE, NULL,
                                   RPC_C_AUTHN_LEVEL_CALL, RPC_C_IMP_LEVEL_IMPERSONATE, NULL,
                                   EOAC_NONE);
    return hr == E_NOINTERFACE ? S_OK : hr;
}

/* Remembers WMI's __ExtendedStatus for the call that just failed on this
 * thread (GetErrorInfo hands it over once). */
static void take_extended_status(struct wmi *wmi)
{
    wmi->last_status = 0;
    wmi->last_desc[0] = '\0';
    IErrorInfo *info = NULL;
    if (GetErrorInfo(0, &info) != S_OK || !info)
        return;
    IWbemClassObject *status = NULL;
    if (SUCCEEDED(IErrorInfo_QueryInterface(info, &IID_IWbemClassObject, (void **)&status)) &&
        status) {
        uint32_t code = 0;
        if (wmi_get_uint32(status, "StatusCode", &code, NULL, 0) == S_OK)
            wmi->last_status = code;
        if (wmi_get_string(status, "Description", wmi->last_desc, sizeof wmi->last_desc, NULL,
                           0) != S_OK)
            wmi->last_desc[0] = '\0';
        IWbemClassObject_Release(status);
    }
    IErrorInfo_Release(info);
}

/* Appends "; WMI says: <desc> (status N)" to err when the call left one. */
static void append_extended(const struct wmi *wmi, char *err, size_t cap)
{
    if (!err || cap == 0 || (wmi->last_status == 0 && wmi->last_desc[0] == '\0'))
        return;
    size_t used = strlen(err);
    if (used + 1 >= cap)
        return;
    if (wmi->last_desc[0])
        snprintf(err + used, cap - used, "; WMI says: %s (status %lu)", wmi->last_desc,
                 (unsigned long)wmi->last_status);
    else
        snprintf(err + used, cap - used, "; WMI status %lu", (unsigned long)wmi->last_status);
}

/* ---- connection ------------------------------------------------------------------ */

HRESULT wmi_connect(const char *ns, struct wmi **out, char *err, size_t cap)
{
    IWbemLocator *locator = NULL;
    BSTR bns = NULL;
    struct wmi *wmi = NULL;
    HRESULT hr;

    *out = NULL;
    if (strlen(ns) >= WMI_NS_MAX) {
        hr = fail(err, cap, E_INVALIDARG, ns, "WMI namespace name '%.40s...' is too long", ns);
        goto done;
    }
    wmi = calloc(1, sizeof *wmi);
    if (!wmi) {
        hr = fail(err, cap, E_OUTOFMEMORY, ns, "cannot connect to WMI namespace %s", ns);
        goto done;
    }
    utf8_copy(wmi->ns, sizeof wmi->ns, ns);
    hr = CoCreateInstance(&CLSID_WbemLocator, NULL, CLSCTX_INPROC_SERVER, &IID_IWbemLocator,
                          (void **)&locator);
    if (FAILED(hr)) {
        fail(err, cap, hr, ns, "cannot create the WMI locator");
        goto done;
    }
    bns = bstr_from_utf8(ns);
    if (!bns) {
        hr = fail(err, cap, utf8_failure(ns), ns, "cannot connect to WMI namespace %s", ns);
        goto done;
    }
    hr = IWbemLocator_ConnectServer(locator, bns, NULL, NULL, NULL,
                                    WBEM_FLAG_CONNECT_USE_MAX_WAIT, NULL, NULL, &wmi->svc);
    if (FAILED(hr)) {
        wmi->svc = NULL;
        fail(err, cap, hr, ns, "cannot connect to WMI namespace %s", ns);
        goto done;
    }
    hr = set_blanket((IUnknown *)wmi->svc);
    if (FAILED(hr)) {
        fail(err, cap, hr, ns, "cannot set impersonation on WMI namespace %s", ns);
        goto done;
    }
    *out = wmi;
    wmi = NULL;
    hr = S_OK;
done:
    if (bns)
        SysFreeString(bns);
    if (locator)
        IWbemLocator_Release(locator);
    wmi_close(wmi);
    return hr;
}

void wmi_close(struct wmi *wmi)
{
    if (!wmi)
        return;
    if (wmi->svc)
        IWbemServices_Release(wmi->svc);
    free(wmi);
}

const char *wmi_namespace(const struct wmi *wmi) { return wmi->ns; }

uint32_t wmi_last_status(const struct wmi *wmi, char *desc, size_t cap)
{
    if (desc && cap > 0)
        snprintf(desc, cap, "%s", wmi->last_desc);
    return wmi->last_status;
}

/* ---- queries -------------------------------------------------------------------- */

HRESULT wmi_query(struct wmi *wmi, const char *wql, IEnumWbemClassObject **rows, char *err,
                  size_t cap)
{
    BSTR lang = NULL, text = NULL;
    HRESULT hr;

    *rows = NULL;
    wmi->last_status = 0;
    wmi->last_desc[0] = '\0';
    lang = SysAllocString(L"WQL");
    text = bstr_from_utf8(wql);
    if (!lang || !text) {
        hr = fail(err, cap, lang ? utf8_failure(wql) : E_OUTOFMEMORY, wmi->ns,
                  "WMI query '%s' in %s", wql, wmi->ns);
        goto done;
    }
    hr = IWbemServices_ExecQuery(wmi->svc, lang, text,
                                 WBEM_FLAG_FORWARD_ONLY | WBEM_FLAG_RETURN_IMMEDIATELY, NULL,
                                 rows);
    if (FAILED(hr)) {
        *rows = NULL;
        take_extended_status(wmi);
        fail(err, cap, hr, wmi->ns, "WMI query '%s' in %s failed", wql, wmi->ns);
        append_extended(wmi, err, cap);
        goto done;
    }
    set_blanket((IUnknown *)*rows); /* best effort: the services proxy has it */
    hr = S_OK;
done:
    if (lang)
        SysFreeString(lang);
    if (text)
        SysFreeString(text);
    return hr;
}

HRESULT wmi_next(struct wmi *wmi, IEnumWbemClassObject *rows, IWbemClassObject **obj, char *err,
                 size_t cap)
{
    ULONG got = 0;
    *obj = NULL;
    HRESULT hr = IEnumWbemClassObject_Next(rows, (LONG)WBEM_INFINITE, 1, obj, &got);
    if (FAILED(hr)) {
        *obj = NULL;
        take_extended_status(wmi);
        fail(err, cap, hr, wmi->ns, "reading WMI query results in %s failed", wmi->ns);
        append_extended(wmi, err, cap);
        return hr;
    }
    if (got == 0 || !*obj) {
        *obj = NULL;
        return S_FALSE;
    }
    return S_OK;
}

/* ---- properties ----------------------------------------------------------------- */

/* Get(name) into v (VariantClear it). */
static HRESULT get_property(IWbemClassObject *obj, const char *name, VARIANT *v, char *err,
                            size_t ecap)
{
    VariantInit(v);
    BSTR wname = bstr_from_utf8(name);
    if (!wname)
        return fail(err, ecap, utf8_failure(name), NULL, "cannot read WMI property %s", name);
    HRESULT hr = IWbemClassObject_Get(obj, wname, 0, v, NULL, NULL);
    SysFreeString(wname);
    if (FAILED(hr)) {
        VariantInit(v);
        if (hr == (HRESULT)WBEM_E_NOT_FOUND) {
            if (err && ecap)
                snprintf(err, ecap, "the WMI object has no property %s (0x%08lX)", name,
                         (unsigned long)(uint32_t)hr);
            return hr;
        }
        return fail(err, ecap, hr, NULL, "cannot read WMI property %s", name);
    }
    return S_OK;
}

HRESULT wmi_get_string(IWbemClassObject *obj, const char *name, char *out, size_t cap, char *err,
                       size_t ecap)
{
    VARIANT v, text;
    VariantInit(&text);
    if (cap > 0)
        out[0] = '\0';
    HRESULT hr = get_property(obj, name, &v, err, ecap);
    if (FAILED(hr))
        return hr;
    if (V_VT(&v) == VT_NULL || V_VT(&v) == VT_EMPTY) {
        hr = S_FALSE;
        goto done;
    }
    if (V_VT(&v) != VT_BSTR) {
        hr = VariantChangeType(&text, &v, 0, VT_BSTR);
        if (FAILED(hr)) {
            fail(err, ecap, WBEM_E_TYPE_MISMATCH, NULL,
                 "WMI property %s (variant type %u) is not text", name, (unsigned)V_VT(&v));
            hr = WBEM_E_TYPE_MISMATCH;
            goto done;
        }
    }
    const wchar_t *w = V_VT(&v) == VT_BSTR ? V_BSTR(&v) : V_BSTR(&text);
    if (utf8_from_wide(w ? w : L"", out, cap) != 0) {
        hr = HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
        if (err && ecap)
            snprintf(err, ecap, "WMI property %s is longer than %lu bytes", name,
                     (unsigned long)(cap ? cap - 1 : 0));
        goto done;
    }
    hr = S_OK;
done:
    VariantClear(&text);
    VariantClear(&v);
    return hr;
}

HRESULT wmi_get_uint32(IWbemClassObject *obj, const char *name, uint32_t *out, char *err,
                       size_t ecap)
{
    VARIANT v;
    *out = 0;
    HRESULT hr = get_property(obj, name, &v, err, ecap);
    if (FAILED(hr))
        return hr;
    long long value = -1;
    switch (V_VT(&v)) {
    case VT_NULL:
    case VT_EMPTY:
        VariantClear(&v);
        return S_FALSE;
    case VT_I4:
        value = (long long)(uint32_t)V_I4(&v); /* uint32 travels as VT_I4 */
        break;
    case VT_UI4:
        value = V_UI4(&v);
        break;
    case VT_I2:
        value = V_I2(&v);
        break;
    case VT_UI2:
        value = V_UI2(&v);
        break;
    case VT_I1:
        value = V_I1(&v);
        break;
    case VT_UI1:
        value = V_UI1(&v);
        break;
    case VT_BSTR: { /* uint64 and strings of digits */
        const wchar_t *s = V_BSTR(&v);
        if (s && *s >= L'0' && *s <= L'9') {
            wchar_t *end = NULL;
            unsigned long long u = wcstoull(s, &end, 10);
            if (end && *end == L'\0' && u <= 0xFFFFFFFFull)
                value = (long long)u;
        }
        break;
    }
    default:
        break;
    }
    VARTYPE vt = V_VT(&v);
    VariantClear(&v);
    if (value < 0 || value > 0xFFFFFFFFll)
        return fail(err, ecap, WBEM_E_TYPE_MISMATCH, NULL,
                    "WMI property %s (variant type %u) is not a number from 0 to 4294967295",
                    name, (unsigned)vt);
    *out = (uint32_t)value;
    return S_OK;
}

HRESULT wmi_get_relpath(IWbemClassObject *obj, char *out, size_t cap, char *err, size_t ecap)
{
    HRESULT hr = wmi_get_string(obj, "__RELPATH", out, cap, err, ecap);
    if (hr == S_FALSE) {
        if (err && ecap)
            snprintf(err, ecap, "the WMI object has no __RELPATH (it is not an instance)");
        return WBEM_E_INVALID_OBJECT_PATH;
    }
    return hr;
}

/* ---- methods -------------------------------------------------------------------- */

/* The class of an object path: "Class.Key=..." / "Class=@" / "Class", after
 * an optional "\\server\namespace:" prefix. 0, or -1 if empty or too long. */
static int class_of_path(const char *path, char *out, size_t cap)
{
    const char *p = path;
    if ((p[0] == '\\' || p[0] == '/') && (p[1] == '\\' || p[1] == '/')) {
        const char *colon = strchr(p, ':');
        if (!colon)
            return -1;
        p = colon + 1;
    }
    size_t n = strcspn(p, ".=");
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

HRESULT wmi_call(struct wmi *wmi, const char *path, const char *method,
                 const struct wmi_arg *args, size_t nargs, uint32_t *return_value,
                 IWbemClassObject **out, char *err, size_t cap)
{
    char cls[WMI_CLASS_MAX];
    BSTR bclass = NULL, bpath = NULL, bmethod = NULL, bname = NULL;
    IWbemClassObject *class_obj = NULL, *signature = NULL, *in = NULL, *outp = NULL;
    VARIANT v;
    HRESULT hr;

    VariantInit(&v);
    if (out)
        *out = NULL;
    if (return_value)
        *return_value = 0;
    wmi->last_status = 0;
    wmi->last_desc[0] = '\0';
    if (class_of_path(path, cls, sizeof cls) != 0) {
        hr = fail(err, cap, WBEM_E_INVALID_OBJECT_PATH, wmi->ns,
                  "cannot call WMI method %s on '%s'", method, path);
        goto done;
    }
    bclass = bstr_from_utf8(cls);
    bpath = bstr_from_utf8(path);
    bmethod = bstr_from_utf8(method);
    if (!bclass || !bpath || !bmethod) {
        hr = fail(err, cap, !bpath ? utf8_failure(path) : utf8_failure(method), wmi->ns,
                  "cannot call WMI method %s on '%s'", method, path);
        goto done;
    }
    hr = IWbemServices_GetObject(wmi->svc, bclass, 0, NULL, &class_obj, NULL);
    if (FAILED(hr)) {
        class_obj = NULL;
        take_extended_status(wmi);
        int missing = hr == (HRESULT)WBEM_E_NOT_FOUND || hr == (HRESULT)WBEM_E_INVALID_CLASS;
        if (!missing)
            fail(err, cap, hr, wmi->ns, "cannot get WMI class %s in %s", cls, wmi->ns);
        else if (err && cap)
            snprintf(err, cap, "WMI class %s does not exist in %s (0x%08lX)", cls, wmi->ns,
                     (unsigned long)(uint32_t)hr);
        goto done;
    }
    hr = IWbemClassObject_GetMethod(class_obj, bmethod, 0, &signature, NULL);
    if (FAILED(hr)) {
        signature = NULL;
        if (hr == (HRESULT)WBEM_E_NOT_FOUND) {
            if (err && cap)
                snprintf(err, cap, "WMI class %s has no method %s (0x%08lX)", cls, method,
                         (unsigned long)(uint32_t)hr);
        } else
            fail(err, cap, hr, wmi->ns, "cannot get WMI method %s.%s", cls, method);
        goto done;
    }
    if (nargs > 0) {
        if (!signature) {
            hr = fail(err, cap, WBEM_E_INVALID_METHOD_PARAMETERS, wmi->ns,
                      "WMI method %s.%s takes no parameters", cls, method);
            goto done;
        }
        hr = IWbemClassObject_SpawnInstance(signature, 0, &in);
        if (FAILED(hr)) {
            in = NULL;
            fail(err, cap, hr, wmi->ns, "cannot make the parameters of WMI method %s.%s", cls,
                 method);
            goto done;
        }
        for (size_t i = 0; i < nargs; i++) {
            VariantInit(&v);
            if (args[i].type == WMI_ARG_STRING) {
                V_VT(&v) = VT_BSTR;
                V_BSTR(&v) = bstr_from_utf8(args[i].s ? args[i].s : "");
                if (!V_BSTR(&v)) {
                    V_VT(&v) = VT_EMPTY;
                    hr = fail(err, cap, utf8_failure(args[i].s ? args[i].s : ""), wmi->ns,
                              "cannot set parameter %s of WMI method %s.%s", args[i].name, cls,
                              method);
                    goto done;
                }
            } else if (args[i].type == WMI_ARG_UINT32) {
                V_VT(&v) = VT_I4;
                V_I4(&v) = (LONG)args[i].u;
            } else {
                hr = fail(err, cap, E_INVALIDARG, wmi->ns,
                          "internal: parameter %s of WMI method %s.%s has no type", args[i].name,
                          cls, method);
                goto done;
            }
            bname = bstr_from_utf8(args[i].name);
            if (!bname) {
                hr = fail(err, cap, utf8_failure(args[i].name), wmi->ns,
                          "cannot set parameter %s of WMI method %s.%s", args[i].name, cls,
                          method);
                goto done;
            }
            /* Providers differ in what Put says about an unknown name: ask first. */
            if (FAILED(IWbemClassObject_Get(in, bname, 0, NULL, NULL, NULL))) {
                hr = WBEM_E_INVALID_METHOD_PARAMETERS;
                if (err && cap)
                    snprintf(err, cap, "WMI method %s.%s has no parameter %s (0x%08lX)", cls,
                             method, args[i].name, (unsigned long)(uint32_t)hr);
                goto done;
            }
            hr = IWbemClassObject_Put(in, bname, 0, &v, 0);
            SysFreeString(bname);
            bname = NULL;
            VariantClear(&v);
            if (FAILED(hr)) {
                fail(err, cap, hr, wmi->ns, "cannot set parameter %s of WMI method %s.%s",
                     args[i].name, cls, method);
                goto done;
            }
        }
    }
    hr = IWbemServices_ExecMethod(wmi->svc, bpath, bmethod, 0, NULL, in, &outp, NULL);
    if (FAILED(hr)) {
        outp = NULL;
        take_extended_status(wmi);
        fail(err, cap, hr, wmi->ns, "WMI method %s.%s on %s failed", cls, method, path);
        append_extended(wmi, err, cap);
        goto done;
    }
    if (return_value) {
        if (!outp) {
            hr = fail(err, cap, WBEM_E_NOT_FOUND, wmi->ns,
                      "WMI method %s.%s on %s returned no ReturnValue", cls, method, path);
            goto done;
        }
        char why[256];
        hr = wmi_get_uint32(outp, "ReturnValue", return_value, why, sizeof why);
        if (hr != S_OK) {
            if (hr == S_FALSE) {
                hr = WBEM_E_NOT_FOUND;
                snprintf(why, sizeof why, "ReturnValue is NULL");
            }
            if (err && cap)
                snprintf(err, cap, "WMI method %s.%s on %s: %s", cls, method, path, why);
            goto done;
        }
    }
    if (out) {
        *out = outp;
        outp = NULL;
    }
    hr = S_OK;
done:
    VariantClear(&v);
    if (bname)
        SysFreeString(bname);
    if (outp)
        IWbemClassObject_Release(outp);
    if (in)
        IWbemClassObject_Release(in);
    if (signature)
        IWbemClassObject_Release(signature);
    if (class_obj)
        IWbemClassObject_Release(class_obj);
    if (bmethod)
        SysFreeString(bmethod);
    if (bpath)
        SysFreeString(bpath);
    if (bclass)
        SysFreeString(bclass);
    return hr;
}

HRESULT wmi_put_instance(struct wmi *wmi, const char *cls, const struct wmi_arg *props,
                         size_t nprops, char *err, size_t cap)
{
    BSTR bclass = NULL, bname = NULL;
    IWbemClassObject *class_obj = NULL, *inst = NULL;
    VARIANT v;
    HRESULT hr;

    VariantInit(&v);
    bclass = bstr_from_utf8(cls);
    if (!bclass) {
        hr = fail(err, cap, utf8_failure(cls), wmi->ns, "cannot write a WMI %s instance", cls);
        goto done;
    }
    hr = IWbemServices_GetObject(wmi->svc, bclass, 0, NULL, &class_obj, NULL);
    if (FAILED(hr)) {
        class_obj = NULL;
        fail(err, cap, hr, wmi->ns, "cannot get WMI class %s in %s", cls, wmi->ns);
        goto done;
    }
    hr = IWbemClassObject_SpawnInstance(class_obj, 0, &inst);
    if (FAILED(hr)) {
        inst = NULL;
        fail(err, cap, hr, wmi->ns, "cannot make a WMI %s instance", cls);
        goto done;
    }
    for (size_t i = 0; i < nprops; i++) {
        VariantInit(&v);
        if (props[i].type == WMI_ARG_STRING) {
            V_VT(&v) = VT_BSTR;
            V_BSTR(&v) = bstr_from_utf8(props[i].s ? props[i].s : "");
            if (!V_BSTR(&v)) {
                V_VT(&v) = VT_EMPTY;
                hr = fail(err, cap, utf8_failure(props[i].s ? props[i].s : ""), wmi->ns,
                          "cannot set %s.%s", cls, props[i].name);
                goto done;
            }
        } else {
            V_VT(&v) = VT_I4;
            V_I4(&v) = (LONG)props[i].u;
        }
        bname = bstr_from_utf8(props[i].name);
        if (!bname) {
            hr = fail(err, cap, utf8_failure(props[i].name), wmi->ns, "cannot set %s.%s", cls,
                      props[i].name);
            goto done;
        }
        hr = IWbemClassObject_Put(inst, bname, 0, &v, 0);
        SysFreeString(bname);
        bname = NULL;
        VariantClear(&v);
        if (FAILED(hr)) {
            fail(err, cap, hr, wmi->ns, "cannot set %s.%s", cls, props[i].name);
            goto done;
        }
    }
    hr = IWbemServices_PutInstance(wmi->svc, inst, WBEM_FLAG_CREATE_OR_UPDATE, NULL, NULL);
    if (FAILED(hr)) {
        take_extended_status(wmi);
        fail(err, cap, hr, wmi->ns, "cannot store the WMI %s instance in %s", cls, wmi->ns);
        append_extended(wmi, err, cap);
        goto done;
    }
    hr = S_OK;
done:
    VariantClear(&v);
    if (bname)
        SysFreeString(bname);
    if (inst)
        IWbemClassObject_Release(inst);
    if (class_obj)
        IWbemClassObject_Release(class_obj);
    if (bclass)
        SysFreeString(bclass);
    return hr;
}
