/*
 * cxx: a workflow and an activity written in C++17, over the C API with the few helpers of
 * twpp.hpp (entry points that keep exceptions in, futures that cancel themselves when dropped,
 * formatting into runtime memory).
 *
 * "Summarize" takes a JSON array of lines of text (at most 16) and counts each line's words
 * with one "CountWords" activity per line, all at once, under a deadline timer of one hour. It
 * answers {"lines":3,"words":9,"longest":2} (longest: the 1-based line with the most words,
 * the first of equals; 0 for no lines). When a line fails, the workflow fails ("LineFailed",
 * with the activity's failure as its cause); the deadline timer, and the activities still
 * running, are cancelled as their futures go out of scope. More than 16 lines throw
 * std::length_error, which fails the workflow with that type.
 *
 * "CountWords" takes one line (a JSON string) and answers its number of words. A line without
 * words fails for good ("EmptyLine"); a \u escape, which it does not decode, throws
 * std::invalid_argument, which fails the activity with that type (not retried: the workflow's
 * retry policy names it).
 *
 * Workflow code keeps nothing that owns heap memory alive across a blocking call (the runtime
 * may drop a blocked coroutine without unwinding it; see tw.h): lines are views into the
 * workflow's arguments, the result is formatted into workflow memory.
 *
 * Build (the Makefile's rule, and the SDK's Makefile for .cpp sources):
 *   g++ -std=c++17 -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection \
 *       -static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL -I<sdk>/include \
 *       -o libcxx.so worker.cpp
 */
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "twpp.hpp"

namespace {

constexpr size_t MAX_LINES = 16;

/* ---- the activity ---- */

/* The text of JSON string |p| (quotes included), decoded; \u escapes are not. */
std::string decode_json_string(const tw_payload &p)
{
    const char *s = reinterpret_cast<const char *>(p.data);
    if (p.len < 2 || s[0] != '"' || s[p.len - 1] != '"')
        throw twpp::Failure("BadInput", "expected a line as a JSON string", true);
    std::string out;
    for (size_t i = 1; i + 1 < p.len; i++) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i + 1 >= p.len)
            throw twpp::Failure("BadInput", "the string ends inside an escape", true);
        switch (s[i]) {
        case '"': case '\\': case '/': out += s[i]; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': case 'f': out += ' '; break;
        default:
            throw std::invalid_argument(std::string("no decoder for the escape \\") + s[i]);
        }
    }
    return out;
}

int count_words(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs < 1)
        throw twpp::Failure("BadInput", "expected one line", true);
    std::istringstream in(decode_json_string(args[0]));
    size_t words = 0;
    for (std::string w; in >> w;)
        words++;
    if (words == 0)
        throw twpp::Failure("EmptyLine", "the line has no words", true);
    *result = tw_json(twpp::format(act, "%zu", words));
    return 0;
}

/* ---- the workflow ---- */

const char *skip_space(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
        s++;
    return s;
}

/* The strings of JSON array |p| as payloads viewing its bytes (quotes included), into
 * |lines|; how many there are. */
size_t split_lines(const tw_payload &p, tw_payload (&lines)[MAX_LINES])
{
    const char *s = reinterpret_cast<const char *>(p.data), *end = s + p.len;
    s = skip_space(s, end);
    if (s == end || *s++ != '[')
        throw twpp::Failure("BadInput", "expected a JSON array of strings", true);
    size_t n = 0;
    for (s = skip_space(s, end); s < end && *s != ']';) {
        if (*s != '"')
            throw twpp::Failure("BadInput", "expected a JSON array of strings", true);
        const char *start = s++;
        while (s < end && *s != '"')
            s += *s == '\\' ? 2 : 1;
        if (s >= end)
            throw twpp::Failure("BadInput", "a string does not end", true);
        if (n == MAX_LINES)
            throw std::length_error("at most 16 lines");
        s++;
        lines[n++] = tw_payload{"json/plain", reinterpret_cast<const uint8_t *>(start),
                                static_cast<size_t>(s - start)};
        s = skip_space(s, end);
        if (s < end && *s == ',')
            s = skip_space(s + 1, end);
    }
    if (s == end)
        throw twpp::Failure("BadInput", "the array does not end", true);
    return n;
}

/* The number activity |r| answered. */
long number_of(const tw_payload &r)
{
    char buf[24] = "";
    std::memcpy(buf, r.data, r.len < sizeof(buf) - 1 ? r.len : sizeof(buf) - 1);
    return std::strtol(buf, nullptr, 10);
}

int summarize(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload lines[MAX_LINES];
    size_t n = nargs ? split_lines(args[0], lines) : 0;

    static const char *const never_retried[] = {"EmptyLine", "BadInput", "std::invalid_argument",
                                                nullptr};
    tw_retry_policy retry{};
    retry.initial_interval_ms = 200;
    retry.maximum_attempts = 3;
    retry.non_retryable_types = never_retried;
    tw_activity_options o{};
    o.start_to_close_ms = 10000;
    o.retry = &retry;

    twpp::Future deadline = twpp::Future::timer(wf, 3600 * 1000);
    twpp::Future counts[MAX_LINES];
    for (size_t i = 0; i < n; i++)
        counts[i] = twpp::Future::activity(wf, "CountWords", o, &lines[i], 1);

    long words = 0, most = -1;
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        tw_future *either[] = {counts[i].get(), deadline.get()};
        size_t ready = 0;
        twpp::check(tw_select(wf, either, 2, &ready));
        if (ready == 1)
            throw twpp::Failure("DeadlineExceeded", "the lines took more than an hour");
        tw_payload r;
        int rc = counts[i].await(&r);
        if (rc == TW_EFAILED) {
            const tw_failure *why = tw_wf_last_failure(wf);
            throw twpp::Failure("LineFailed",
                                "line " + std::to_string(i + 1) + ": " +
                                    (why && why->message ? why->message : "failed"),
                                false, why);
        }
        twpp::check(rc);
        long w = number_of(r);
        words += w;
        if (w > most) {
            most = w;
            longest = i + 1;
        }
    }
    *result = tw_json(twpp::format(wf, "{\"lines\":%zu,\"words\":%ld,\"longest\":%zu}", n, words,
                                   longest));
    return 0; /* |deadline| is cancelled here, as it goes out of scope */
}

int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Summarize", twpp::workflow<summarize>, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "CountWords", twpp::activity<count_words>);
}

} // namespace

TW_LIBRARY(setup)
