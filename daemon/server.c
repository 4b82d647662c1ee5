typedef int trawl_server_placeholder;
