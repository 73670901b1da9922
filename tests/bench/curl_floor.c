/* The libcurl floor: how many PUTs per second one thread gets out of libcurl's
 * multi interface against the bench server, with the least work a program
 * can do per request (easy handles set up once and re-added, no per-request
 * option changes, no key files). The plugin does the same work plus its own
 * (scheduling, key files, results); the gap between the two is the plugin's
 * overhead, the gap between this and wrk is libcurl's.
 *
 * Usage: curl_floor URL CAFILE CONCURRENCY REQUESTS HTTPVER(1|2)
 * Prints: "<requests> <seconds>" (wall time from first add to last done).
 * Built by bench.py with: cc -O2 curl_floor.c -lcurl */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s URL CAFILE CONCURRENCY REQUESTS 1|2\n", argv[0]);
    return 2;
  }
  const char *url = argv[1], *ca = argv[2];
  int conc = atoi(argv[3]);
  long total = atol(argv[4]);
  long ver = atoi(argv[5]) == 2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1;
  if (conc < 1 || total < 1)
    return 2;
  curl_global_init(CURL_GLOBAL_ALL);
  CURLM *m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
  struct curl_slist *hdr = NULL;
  hdr = curl_slist_append(hdr, "X-PARTNER-APIKEY: PK-999999-floor");
  hdr = curl_slist_append(hdr, "X-DC-DEVKEY: CC-floor");
  hdr = curl_slist_append(hdr, "Content-Type:");
  hdr = curl_slist_append(hdr, "Expect:");
  CURL **h = calloc((size_t)conc, sizeof(*h));
  long started = 0, done = 0, bad = 0;
  double t0 = now();
  for (int i = 0; i < conc && started < total; i++, started++) {
    h[i] = curl_easy_init();
    curl_easy_setopt(h[i], CURLOPT_URL, url);
    curl_easy_setopt(h[i], CURLOPT_CAINFO, ca);
    curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h[i], CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h[i], CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(h[i], CURLOPT_HTTP_VERSION, ver);
    curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(m, h[i]);
  }
  while (done < total) {
    int running;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 204)
        bad++;
      done++;
      CURL *e = msg->easy_handle;
      curl_multi_remove_handle(m, e);
      if (started < total) {
        started++;
        curl_multi_add_handle(m, e);
      }
    }
    if (done < total)
      curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  double t1 = now();
  printf("%ld %.6f %ld\n", done, t1 - t0, bad);
  for (int i = 0; i < conc; i++) {
    if (h[i] != NULL) {
      curl_multi_remove_handle(m, h[i]);
      curl_easy_cleanup(h[i]);
    }
  }
  curl_multi_cleanup(m);
  curl_slist_free_all(hdr);
  free(h);
  curl_global_cleanup();
  return bad != 0;
}
