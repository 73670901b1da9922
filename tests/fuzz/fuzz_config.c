/* The config handler on arbitrary trees: the input is decoded into an
 * oconfig tree (options, values, nested Account blocks), then parsed,
 * validated and freed. */
#include "fuzz_support.h"

#include "dcb_config.h"

#include <string.h>
#include <strings.h>

typedef struct {
  const uint8_t *p;
  size_t n;
} rd_t;

static unsigned take(rd_t *r) {
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

static char *take_str(rd_t *r) {
  size_t len = take(r) % 40;
  char *s = calloc(1, len + 1);
  FZ_ASSERT(s != NULL);
  for (size_t i = 0; i < len && r->n > 0; i++)
    s[i] = (char)take(r);
  return s; /* may be shorter than len at a NUL: fine */
}

static const char *const extra_keys[] = {"Bogus", "", "account", "MODE"};

static void build(oconfig_item_t *it, rd_t *r, int depth) {
  unsigned nk = sizeof(extra_keys) / sizeof(extra_keys[0]);
  unsigned nn = 0;
  while (dcb_config_option_names[nn] != NULL)
    nn++;
  unsigned k = take(r) % (nn + nk);
  it->key = strdup(k < nn ? dcb_config_option_names[k] : extra_keys[k - nn]);
  FZ_ASSERT(it->key != NULL);
  it->values_num = (int)(take(r) % 3);
  it->values = calloc((size_t)it->values_num + 1, sizeof(*it->values));
  FZ_ASSERT(it->values != NULL);
  for (int i = 0; i < it->values_num; i++) {
    unsigned t = take(r) % 3;
    it->values[i].type = (int)t;
    if (t == OCONFIG_TYPE_STRING)
      it->values[i].value.string = take_str(r);
    else if (t == OCONFIG_TYPE_NUMBER)
      it->values[i].value.number =
          (double)(int8_t)take(r) * (double)(1u << (take(r) % 31)) / 7.0;
    else
      it->values[i].value.boolean = (int)(take(r) & 1);
  }
  it->children_num = depth < 3 ? (int)(take(r) % 4) : 0;
  it->children = calloc((size_t)it->children_num + 1, sizeof(*it->children));
  FZ_ASSERT(it->children != NULL);
  for (int i = 0; i < it->children_num; i++)
    build(&it->children[i], r, depth + 1);
}

static void drop(oconfig_item_t *it) {
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  for (int i = 0; i < it->children_num; i++)
    drop(&it->children[i]);
  free(it->key);
  free(it->values);
  free(it->children);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd_t r = {data, size};
  oconfig_item_t root = {0};
  root.key = strdup("Plugin");
  root.children_num = (int)(take(&r) % 8);
  root.children = calloc((size_t)root.children_num + 1, sizeof(*root.children));
  FZ_ASSERT(root.key != NULL && root.children != NULL);
  for (int i = 0; i < root.children_num; i++)
    build(&root.children[i], &r, 1);

  dcb_config_t cfg;
  dcb_config_init(&cfg);
  if (dcb_config_parse(&cfg, &root) == 0) {
    (void)dcb_config_validate(&cfg);
    for (size_t i = 0; i < cfg.n_accounts; i++) {
      FZ_ASSERT(cfg.accounts[i].name != NULL);
      FZ_ASSERT(cfg.accounts[i].partner_key_file != NULL ||
                cfg.accounts[i].partner_key_inline.buf != NULL);
    }
  }
  /* Inline keys never survive in the tree, whatever happened. */
  for (int i = 0; i < root.children_num; i++)
    for (int c = 0; c < root.children[i].children_num; c++) {
      oconfig_item_t *o = &root.children[i].children[c];
      if (strcasecmp(o->key, "PartnerAPIKey") == 0)
        for (int v = 0; v < o->values_num; v++)
          if (o->values[v].type == OCONFIG_TYPE_STRING)
            FZ_ASSERT(o->values[v].value.string[0] == '\0');
    }
  dcb_config_free(&cfg);
  drop(&root);
  return 0;
}
