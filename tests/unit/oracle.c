/* placeholder */
typedef int trawl_oracle_placeholder;
