from agentctl.main import main

main()
