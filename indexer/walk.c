typedef int trawl_walk_placeholder;
