/*
 * twpp.hpp: a few lines of C++17 over tw.h, for examples/cxx (copy it into a project and grow
 * it; it is no part of the runtime's ABI). What it adds to the C calls:
 *
 *   - entry points (twpp::workflow<fn>, twpp::activity<fn>) that let no exception out into the
 *     runtime: a twpp::Failure becomes the workflow's or activity's failure as written, a
 *     twpp::Status returns its code, any other exception fails with the exception's type as
 *     the error type ("std::invalid_argument") and its what() as the message;
 *   - twpp::Future, owning a tw_future: when it goes out of scope unawaited (a return, an
 *     exception), it cancels what it stands for, so a timer or an activity never outlives the
 *     code that started it;
 *   - twpp::format, printf into workflow or activity memory (lives with the run or the
 *     activity, so a result can point to it).
 *
 * Workflow code runs on coroutines the runtime may drop without unwinding (tw.h, "C++"): the
 * wrappers own no heap memory, and their destructors never block.
 */
#ifndef TWPP_HPP
#define TWPP_HPP

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>
#include <utility>

#include <cxxabi.h>

#include "tw.h"

namespace twpp {

/* An error to fail the workflow or activity with, as Temporal's ApplicationError. |cause| (may
 * be null) is borrowed: a failure the runtime handed out (tw_wf_last_failure()). */
struct Failure : std::exception {
    std::string type, message;
    bool non_retryable;
    const tw_failure *cause;
    Failure(std::string t, std::string m, bool nr = false, const tw_failure *c = nullptr)
        : type(std::move(t)), message(std::move(m)), non_retryable(nr), cause(c) {}
    const char *what() const noexcept override { return message.c_str(); }
};

/* A TW_E* code to return as it is (TW_ECANCELED ends a workflow as cancelled). */
struct Status : std::exception {
    int rc;
    explicit Status(int r) : rc(r) {}
    const char *what() const noexcept override { return "tw call failed"; }
};

/* Throws Status for a negative |rc|; returns it otherwise. */
inline int check(int rc)
{
    if (rc < 0)
        throw Status(rc);
    return rc;
}

/* ---- formatting into runtime memory ---- */

namespace detail {
inline const char *vformat(void *(*alloc)(void *, size_t), void *owner, const char *fmt,
                           va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap);
    char *out = n < 0 ? nullptr : static_cast<char *>(alloc(owner, static_cast<size_t>(n) + 1));
    if (out)
        std::vsnprintf(out, static_cast<size_t>(n) + 1, fmt, again);
    va_end(again);
    if (!out)
        throw Status(TW_ENOMEM);
    return out;
}
inline void *wf_alloc(void *wf, size_t n) { return tw_wf_alloc(static_cast<tw_wf *>(wf), n); }
inline void *act_alloc(void *act, size_t n) { return tw_act_alloc(static_cast<tw_act *>(act), n); }
} // namespace detail

/* printf into the workflow's memory (it lives with the run): a result may point to it. */
__attribute__((format(printf, 2, 3))) inline const char *format(tw_wf *wf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = detail::vformat(detail::wf_alloc, wf, fmt, ap);
    va_end(ap);
    return s;
}
/* printf into the activity's memory (it lives until the activity returned). */
__attribute__((format(printf, 2, 3))) inline const char *format(tw_act *act, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = detail::vformat(detail::act_alloc, act, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- futures ---- */

/* Owns one tw_future of a workflow: move-only; cancelled when dropped before it was awaited
 * (tw_cancel never blocks, so this destructor is safe while an exception unwinds). */
class Future {
public:
    Future() = default;
    Future(tw_wf *wf, tw_future *f) : wf_(wf), f_(f) {}
    Future(Future &&o) noexcept : wf_(o.wf_), f_(std::exchange(o.f_, nullptr)) {}
    Future &operator=(Future &&o) noexcept
    {
        if (this != &o) {
            drop();
            wf_ = o.wf_;
            f_ = std::exchange(o.f_, nullptr);
        }
        return *this;
    }
    Future(const Future &) = delete;
    Future &operator=(const Future &) = delete;
    ~Future() { drop(); }

    static Future timer(tw_wf *wf, int64_t ms)
    {
        tw_future *f = nullptr;
        check(tw_start_timer(wf, ms, &f));
        return Future(wf, f);
    }
    static Future activity(tw_wf *wf, const char *type, const tw_activity_options &o,
                           const tw_payload *args, size_t nargs)
    {
        tw_future *f = nullptr;
        check(tw_start_activity(wf, type, &o, args, nargs, &f));
        return Future(wf, f);
    }

    /* Waits for it: its tw_await() code (0, TW_EFAILED with tw_wf_last_failure(), ...); from
     * then on it is done and nothing is cancelled. */
    int await(tw_payload *result)
    {
        tw_future *f = std::exchange(f_, nullptr);
        return f ? tw_await(wf_, f, result) : TW_EINVAL;
    }
    tw_future *get() const { return f_; }

private:
    void drop()
    {
        if (f_)
            tw_cancel(wf_, std::exchange(f_, nullptr));
    }
    tw_wf *wf_ = nullptr;
    tw_future *f_ = nullptr;
};

/* ---- entry points ---- */

namespace detail {
/* The dynamic type of the exception being handled, demangled into |buf|. */
inline const char *exception_type(char *buf, size_t n)
{
    const std::type_info *t = abi::__cxa_current_exception_type();
    if (!t)
        return "UnknownException";
    int status = 0;
    char *name = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
    std::snprintf(buf, n, "%s", status == 0 && name ? name : t->name());
    std::free(name);
    return buf;
}

/* Runs |body| and turns what it throws into |fail|'s failure. */
template <class Fail, class Body> int guard(Fail fail, Body body) noexcept
{
    char type[128];
    try {
        return body();
    } catch (const Failure &e) {
        tw_failure f{};
        f.type = e.type.c_str();
        f.message = e.message.c_str();
        f.non_retryable = e.non_retryable;
        f.cause = e.cause;
        return fail(&f);
    } catch (const Status &e) {
        return e.rc;
    } catch (const std::exception &e) {
        tw_failure f{};
        f.type = exception_type(type, sizeof(type));
        f.message = e.what();
        return fail(&f);
    } catch (...) {
        tw_failure f{};
        f.type = exception_type(type, sizeof(type));
        f.message = "a C++ exception that is no std::exception";
        return fail(&f);
    }
}
} // namespace detail

/* The entry points to register: twpp::workflow<fn> is a tw_workflow_fn calling
 * fn(wf, args, nargs, result), twpp::activity<fn> a tw_activity_fn; what fn throws fails the
 * workflow or activity (tw_wf_fail() / tw_act_fail() copy the failure before the catch ends). */
template <int (*Fn)(tw_wf *, const tw_payload *, size_t, tw_payload *)>
int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result) noexcept
{
    return detail::guard([wf](const tw_failure *f) { return tw_wf_fail(wf, f); },
                         [&] { return Fn(wf, args, nargs, result); });
}
template <int (*Fn)(tw_act *, const tw_payload *, size_t, tw_payload *)>
int activity(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result) noexcept
{
    return detail::guard([act](const tw_failure *f) { return tw_act_fail(act, f); },
                         [&] { return Fn(act, args, nargs, result); });
}

} // namespace twpp

#endif
