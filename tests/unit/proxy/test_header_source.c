#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "config/config.h"
#include "proxy/header_source.h"

static struct sockaddr_storage peer(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        ss.ss_family = AF_INET6;
        inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr);
    } else {
        ss.ss_family = AF_INET;
        inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr);
    }
    return ss;
}

static void test_trusted(void **state)
{
    struct cfg_cidr nets[3];
    assert_int_equal(config_parse_cidr("10.0.0.0/8", &nets[0]), 0);
    assert_int_equal(config_parse_cidr("192.168.1.0/25", &nets[1]), 0);
    assert_int_equal(config_parse_cidr("fd00::/8", &nets[2]), 0);
    struct {
        const char *ip;
        int want;
    } cases[] = {
        {"10.1.2.3", 1},        {"11.0.0.1", 0},  {"192.168.1.127", 1},   {"192.168.1.128", 0},
        {"fd12::1", 1},         {"fe80::1", 0},   {"::ffff:10.9.9.9", 1}, /* IPv4-mapped: a
                                                                             dual-stack listener's
                                                                             view of 10.9.9.9 */
        {"::ffff:11.0.0.1", 0}, {"127.0.0.2", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss = peer(cases[i].ip);
        assert_int_equal(header_source_trusted(&ss, nets, 3), cases[i].want);
    }
    struct sockaddr_storage lo = peer("127.0.0.1");
    assert_int_equal(header_source_trusted(&lo, nets, 0), 0); /* nothing trusted */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_trusted)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
