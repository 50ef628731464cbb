<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise expense bills (GLExport expenseBills) → Sage 50 UK purchase invoices, Zynk
  schema: Company/Suppliers/Supplier (one per member, A/C = the member's Vendor Nbr) and
  Company/Transactions/Transaction (one PurchaseInvoice split per expense line).

  * The splits of one bill are adjacent and share AccountReference, Reference (the bill id),
    SecondReference (the bill's key, CW-EXP-<id>) and date, so Sage groups them into one
    header, and two bills of one member on one day stay apart.
  * Each bill arrives resolved (<resolved>, see tasks/resolved.py): account, type, reference
    and lines with nominal, Sage tax code, net and the VAT ConnectWise states (Sage takes
    both as given). This stylesheet lays them out.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:key name="bill-by-member" match="/cwsage/export/expenseBills/item" use="member/id"/>

  <xsl:template match="/cwsage">
    <Company>
      <Suppliers>
        <xsl:apply-templates select="export/vendors/item[count(key('bill-by-member', member/id)) &gt; 0]"/>
      </Suppliers>
      <Transactions>
        <xsl:apply-templates select="export/expenseBills/item/resolved/lines/item"/>
      </Transactions>
    </Company>
  </xsl:template>

  <!-- A member with expenses → a Sage supplier -->
  <xsl:template match="vendors/item">
    <xsl:variable name="bill" select="key('bill-by-member', member/id)[1]"/>
    <Supplier>
      <Id><xsl:value-of select="concat('CW-MEM-', member/id)"/></Id>
      <AccountReference><xsl:value-of select="$bill/resolved/account"/></AccountReference>
      <CompanyName><xsl:call-template name="text"><xsl:with-param name="value" select="member/name"/></xsl:call-template></CompanyName>
      <Currency><xsl:value-of select="$bill/resolved/currency"/></Currency>
      <xsl:if test="string(number(dueDays)) != 'NaN'"><PaymentDays><xsl:value-of select="dueDays"/></PaymentDays></xsl:if>
    </Supplier>
  </xsl:template>

  <!-- A resolved line → one split of the document's purchase invoice or credit -->
  <xsl:template match="resolved/lines/item">
    <xsl:variable name="doc" select="../.."/>
    <Transaction>
      <Id><xsl:value-of select="split_id"/></Id>
      <TransactionType>
        <xsl:choose>
          <xsl:when test="$doc/type = 'PC'">PurchaseCredit</xsl:when>
          <xsl:otherwise>PurchaseInvoice</xsl:otherwise>
        </xsl:choose>
      </TransactionType>
      <AccountReference><xsl:value-of select="$doc/account"/></AccountReference>
      <TransactionDate><xsl:call-template name="date"><xsl:with-param name="value" select="$doc/date"/></xsl:call-template></TransactionDate>
      <xsl:if test="normalize-space($doc/due_date) != ''"><DueDate><xsl:call-template name="date"><xsl:with-param name="value" select="$doc/due_date"/></xsl:call-template></DueDate></xsl:if>
      <Reference><xsl:value-of select="$doc/reference"/></Reference>
      <SecondReference><xsl:value-of select="$doc/../@key"/></SecondReference>
      <NominalCode><xsl:value-of select="nominal"/></NominalCode>
      <Details><xsl:call-template name="text"><xsl:with-param name="value" select="name"/></xsl:call-template></Details>
      <NetAmount><xsl:value-of select="net"/></NetAmount>
      <TaxCode><xsl:value-of select="tax_code"/></TaxCode>
      <TaxAmount><xsl:value-of select="tax"/></TaxAmount>
      <Currency><xsl:value-of select="$doc/currency"/></Currency>
      <xsl:if test="normalize-space($doc/exchange_rate) != ''"><ExchangeRate><xsl:value-of select="$doc/exchange_rate"/></ExchangeRate></xsl:if>
    </Transaction>
  </xsl:template>

</xsl:stylesheet>
