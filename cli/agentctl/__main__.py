from agentctl.entry import main

main()
